//! Contact identities (e-mail addresses, WeCom and Feishu ids, mobiles) are admin data: a record
//! shown to a project's editor or viewer names a contact by name and id instead.
use super::ids::ContactId;
use serde::{Deserialize, Serialize};

/// A contact a delivery reaches, and the identity it reaches them at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactReach {
    pub contact: ContactId,
    pub identity: String,
}

/// Identities to replace by a label such as "Ada (contact ada)", wherever they stand alone in a
/// text (an identity inside a longer word or address is another identity).
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    /// Longest first, so "li@example.com" is replaced before "li".
    pairs: Vec<(String, String)>,
}

impl Redaction {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut pairs: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(from, _)| !from.is_empty())
            .collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Self { pairs }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (identity, label) in &self.pairs {
            if text.contains(identity.as_str()) {
                text = replace_standalone(&text, identity, label);
            }
        }
        text
    }
}

/// Characters that continue an identity: next to one, a match is part of something longer.
fn continues(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+')
}

fn replace_standalone(text: &str, needle: &str, label: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + needle.len()..].chars().next();
        // A trailing '.' ends a sentence as often as it continues a domain.
        let after_continues = match after {
            Some('.') => rest[at + needle.len() + 1..]
                .chars()
                .next()
                .is_some_and(continues),
            Some(c) => continues(c),
            None => false,
        };
        let standalone = !before.is_some_and(continues) && !after_continues;
        out.push_str(&rest[..at]);
        out.push_str(if standalone { label } else { needle });
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redaction() -> Redaction {
        Redaction::new([
            ("li".to_owned(), "Li (contact li)".to_owned()),
            ("ada@example.com".to_owned(), "Ada (contact ada)".to_owned()),
        ])
    }

    #[test]
    fn identities_standing_alone_are_replaced() {
        let r = redaction();
        assert_eq!(r.apply("ada@example.com"), "Ada (contact ada)");
        assert_eq!(
            r.apply("550 <ada@example.com>: no such user."),
            "550 <Ada (contact ada)>: no such user."
        );
        assert_eq!(
            r.apply("zhangsan, li and 3 more"),
            "zhangsan, Li (contact li) and 3 more"
        );
        assert_eq!(
            r.apply("sent to ada@example.com."),
            "sent to Ada (contact ada)."
        );
    }

    #[test]
    fn an_identity_inside_a_longer_word_is_left_alone() {
        let r = redaction();
        assert_eq!(r.apply("delivered"), "delivered");
        assert_eq!(r.apply("lisi, li.wei, li@x.cn"), "lisi, li.wei, li@x.cn");
        assert_eq!(r.apply("bada@example.com"), "bada@example.com");
        assert_eq!(r.apply("ada@example.com.cn"), "ada@example.com.cn");
    }
}
