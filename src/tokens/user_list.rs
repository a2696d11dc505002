//! A list of users to give tokens to: the one rule for reading it, shared by the batch's
//! "assign users" (web and `convert --assign`) and by a bulk burn's `--users`.
//!
//! A list is one UPN per line (given in order), or `serial,upn` pairs (given by serial; `,`,
//! `;` or a tab between them, a `serial,upn` header line skipped). UTF-8 with or without BOM,
//! CRLF or LF; blank lines and `#` comments skipped; spaces and quotes around a cell trimmed;
//! Excel's trailing delimiter after a lone UPN is not a second cell.
//!
//! Pure: text in, lines out. Every bad line is named with its number and reason; a message
//! repeats at most 64 characters of a line.

use super::validate::check_upn;
use crate::otp::clip;

/// The most users a bulk burn's list may hold (a bound on memory; a session's batch holds
/// fewer).
pub const MAX_USERS: usize = 100_000;

/// How a list gives its users out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One UPN per line: to the unassigned tokens in serial order.
    InOrder,
    /// `serial,upn` pairs: each to the token with that serial.
    Pairs,
}

/// One line of a list that says something: its 1-based number, the serial it names (pairs
/// only; `None` on a pair line without one) and the UPN as written (not yet checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserLine<'a> {
    pub line: usize,
    pub serial: Option<&'a str>,
    pub upn: &'a str,
}

/// A user list read by the one rule. Borrows the text: a list of 100,000 users is walked,
/// never copied.
#[derive(Clone, Copy, Debug)]
pub struct UserList<'a> {
    text: &'a str,
    pub shape: Shape,
}

/// The cells of one line: the first, and the rest (empty when the line has one cell).
fn cells(line: &str) -> (&str, &str) {
    // The usual line, a bare UPN, is looked at once.
    if !line
        .bytes()
        .any(|b| matches!(b, b',' | b';' | b'\t' | b'"'))
    {
        return (line, "");
    }
    let mut parts = line.splitn(2, [',', ';', '\t']);
    let first = unquote(parts.next().unwrap_or(""));
    let rest = parts.next().unwrap_or("");
    let rest = unquote(rest.trim().trim_end_matches([',', ';', '\t']));
    (first, rest)
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('"').trim()
}

/// A header line: `serial` (with `number`/`no`) before the delimiter, or a lone `upn`.
fn is_header(first: &str, rest: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if rest.is_empty() {
        return matches!(norm(first).as_str(), "upn" | "userprincipalname");
    }
    matches!(norm(first).as_str(), "serial" | "serialnumber" | "serialno")
}

impl<'a> UserList<'a> {
    /// Reads the shape: pairs when any line has two cells.
    pub fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut list = UserList {
            text,
            shape: Shape::InOrder,
        };
        if list.raw().any(|(_, l)| !cells(l).1.is_empty()) {
            list.shape = Shape::Pairs;
        }
        list
    }

    /// The lines that are not blank or comments, trimmed, with their numbers.
    fn raw(&self) -> impl Iterator<Item = (usize, &'a str)> + use<'a> {
        self.text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
    }

    /// Every line that gives a user, the header skipped. Walked again on each call rather
    /// than collected.
    pub fn lines(&self) -> impl Iterator<Item = UserLine<'a>> + use<'a> {
        let shape = self.shape;
        self.raw().enumerate().filter_map(move |(n, (line, text))| {
            let (first, rest) = cells(text);
            if n == 0 && is_header(first, rest) {
                return None;
            }
            Some(match shape {
                Shape::InOrder => UserLine {
                    line,
                    serial: None,
                    upn: first,
                },
                Shape::Pairs if rest.is_empty() => UserLine {
                    line,
                    serial: None,
                    upn: first,
                },
                Shape::Pairs => UserLine {
                    line,
                    serial: Some(first),
                    upn: rest,
                },
            })
        })
    }
}

/// A line of a user list that is not a UPN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct UserListError {
    pub line: usize,
    pub reason: String,
}

/// Reads a list of users given in order (a bulk burn hands them out as tokens are tapped).
/// Returns every bad line, not just the first, and refuses a UPN listed twice (one token
/// per user per run) and `serial,upn` pairs (the serials of tokens not yet burned are not
/// known).
pub fn parse_user_list(text: &str) -> Result<Vec<String>, Vec<UserListError>> {
    let list = UserList::new(text);
    let mut users: Vec<String> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for UserLine { line, serial, upn } in list.lines() {
        let mut refuse = |reason: String| errors.push(UserListError { line, reason });
        if let Some(serial) = serial {
            refuse(format!(
                "'{}' names a serial: a list handed out in order is one UPN per line (serial,upn pairs assign tokens already in a batch)",
                clip(serial)
            ));
            continue;
        }
        if let Err(why) = check_upn(upn) {
            refuse(format!("'{}' {why}", clip(upn)));
            continue;
        }
        let key = upn.to_lowercase();
        if let Some(first) = seen.get(&key) {
            refuse(format!("'{}' is already on line {first}", clip(upn)));
            continue;
        }
        if users.len() == MAX_USERS {
            refuse(format!("a list holds at most {MAX_USERS} users"));
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

    #[test]
    fn one_rule_for_the_shape_headers_and_trailing_delimiters() {
        let list = UserList::new("upn\n\"alice@contoso.com\",\nbob@contoso.com;\n");
        assert_eq!(list.shape, Shape::InOrder);
        let upns: Vec<&str> = list.lines().map(|l| l.upn).collect();
        assert_eq!(upns, ["alice@contoso.com", "bob@contoso.com"]);

        let list = UserList::new("Serial Number;UPN\n001;alice@contoso.com;\n002\n");
        assert_eq!(list.shape, Shape::Pairs);
        let lines: Vec<(usize, Option<&str>, &str)> =
            list.lines().map(|l| (l.line, l.serial, l.upn)).collect();
        assert_eq!(
            lines,
            [(2, Some("001"), "alice@contoso.com"), (3, None, "002")]
        );

        let errors = parse_user_list("001,alice@contoso.com\n").unwrap_err();
        assert!(errors[0].reason.contains("one UPN per line"), "{errors:?}");
    }
}
