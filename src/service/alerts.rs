//! MSN Alerts: `NOT` with a `<NOTIFICATION>` document (msnp.md §g.1).

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::ns::Reply;

use super::ServiceEngine;

/// `BODY` is limited to 1024 bytes (msnp.md §g.1).
pub const MAX_ALERT_BODY: usize = 1024;

/// What `Service.send_alert` puts in a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub site_id: i32,
    pub text: String,
    pub site_url: String,
    pub action_url: String,
    pub subscribe_url: String,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            // A raw CR would be normalised away by any XML parser.
            '\r' => out.push_str("&#13;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl ServiceEngine {
    /// Pushes an alert to a signed-in user; false if they are not signed in.
    pub fn send_alert(&mut self, user: &str, alert: &Alert) -> Result<bool> {
        // XML 1.0 cannot carry the other C0 controls, nor U+FFFE/U+FFFF, escaped or not.
        let not_xml = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
        let fields = [&alert.text, &alert.site_url, &alert.action_url, &alert.subscribe_url];
        if fields.iter().any(|f| f.chars().any(not_xml)) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "an alert can only carry XML 1.0 characters (no C0 controls but tab, CR and LF)",
            ));
        }
        let body = format!("<TEXT>{}</TEXT>", escape(&alert.text));
        if body.len() > MAX_ALERT_BODY {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!(
                    "an alert body is at most {MAX_ALERT_BODY} bytes; this one is {}",
                    body.len()
                ),
            ));
        }
        let Some(&conn) = self.online.get(&user.to_ascii_lowercase()) else {
            return Ok(false);
        };
        let Some(account) = self.dir.account(user).cloned() else {
            return Ok(false);
        };
        self.alert_seq = self.alert_seq.wrapping_add(1);
        let xml = format!(
            "<NOTIFICATION ver=\"1\" id=\"{id}\" siteid=\"{site}\" siteurl=\"{siteurl}\">\
             <TO pid=\"0x00000000:0x{pid:08x}\" name=\"{name}\"/>\
             <MSG id=\"0\"><ACTION url=\"{action}\"/><SUBSCR url=\"{subscr}\"/>\
             <BODY lang=\"1033\" icon=\"\">{body}</BODY></MSG></NOTIFICATION>",
            id = self.alert_seq,
            site = alert.site_id,
            siteurl = escape(&alert.site_url),
            pid = self.alert_seq,
            name = escape(&account.sign_in_name),
            action = escape(&alert.action_url),
            subscr = escape(&alert.subscribe_url),
        );
        self.reply(
            conn,
            Reply::Not {
                payload: xml.into_bytes(),
            },
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\">'"), "a&lt;b &amp; &quot;c&quot;&gt;&apos;");
        assert_eq!(escape("a\r\nb"), "a&#13;\nb");
    }
}
