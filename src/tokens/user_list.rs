//! A list of users to give tokens to, one UPN per line, in the order they get them (a bulk
//! burn hands them out as tokens are tapped).
//!
//! Pure: text in, UPNs out. Every bad line is named with its number and reason; a message
//! repeats at most 64 characters of a line.

use super::validate::check_upn;

/// The most users a list may hold (a bound on memory; a session's batch holds fewer).
pub const MAX_USERS: usize = 100_000;
const MAX_ECHO: usize = 64;

/// A line of a user list that is not a UPN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct UserListError {
    pub line: usize,
    pub reason: String,
}

/// Reads one UPN per line (UTF-8, with or without BOM, CRLF or LF). Blank lines and lines
/// starting with `#` are skipped; surrounding spaces are trimmed. Returns every bad line,
/// not just the first, and refuses a UPN listed twice (one token per user per run).
pub fn parse_user_list(text: &str) -> Result<Vec<String>, Vec<UserListError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut users: Vec<String> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let upn = raw.trim();
        if upn.is_empty() || upn.starts_with('#') {
            continue;
        }
        let shown: String = upn.chars().take(MAX_ECHO).collect();
        if let Err(why) = check_upn(upn) {
            errors.push(UserListError {
                line,
                reason: format!("'{shown}' {why}"),
            });
            continue;
        }
        let key = upn.to_lowercase();
        if let Some(first) = seen.get(&key) {
            errors.push(UserListError {
                line,
                reason: format!("'{shown}' is already on line {first}"),
            });
            continue;
        }
        if users.len() == MAX_USERS {
            errors.push(UserListError {
                line,
                reason: format!("a list holds at most {MAX_USERS} users"),
            });
            break;
        }
        seen.insert(key, line);
        users.push(upn.to_string());
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upns_and_names_bad_lines() {
        let users =
            parse_user_list("\u{feff}# users\r\nalice@contoso.com\r\n\r\n  bob@contoso.com  \n")
                .unwrap();
        assert_eq!(users, ["alice@contoso.com", "bob@contoso.com"]);
        let errors = parse_user_list(
            "alice@contoso.com\nnot a upn\nALICE@contoso.com,\nAlice@Contoso.com\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(errors[2].reason.contains("already on line 1"));
        assert_eq!(parse_user_list("").unwrap(), Vec::<String>::new());
    }
}
