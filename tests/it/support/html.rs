//! Reading rendered pages: values, texts and the message beside a field. Pages are our own
//! templates, so plain string search is enough (no HTML parser).

/// Undoes the HTML escaping askama applies, for comparing page text with plain strings.
pub fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The text inside the first element with this id (no nested tags expected).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(unescape(&html[open_end..close]))
}

/// The error paragraph of a field, by the field's id.
pub fn field_error(html: &str, field_id: &str) -> Option<String> {
    element_text(html, &format!("{field_id}-error"))
}

/// The `value` attribute of the input with this id.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = v + tag[v..].find('"')?;
    Some(unescape(&tag[v..end]))
}
