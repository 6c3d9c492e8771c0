//! Canned replies (answers a team writes once and sends often, with the customer's and the
//! agent's names filled in) and macros (a named list of steps an agent runs on a
//! conversation in one go).

use super::conversation::{ConversationStatus, Priority, normalize_tag};
use super::rule::normalize_text;
use super::{AgentId, CannedReplyId, MacroId};
use serde::{Deserialize, Serialize};

/// The variables a canned reply may use.
pub const VARIABLES: [&str; 4] = [
    "contact.name",
    "conversation.id",
    "agent.name",
    "agent.email",
];

/// Longest canned reply, in characters (a reply's own limit).
pub const MAX_CANNED_CHARS: usize = 20_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CannedReply {
    pub id: CannedReplyId,
    /// What an agent types to find it: letters, digits, `-` and `_`, unique per language.
    #[schema(example = "refund")]
    pub short_code: String,
    pub title: String,
    /// The language it is written in (`fa`, `en`, …); none: any.
    pub language: Option<String>,
    /// The text, with `{{contact.name}}`, `{{conversation.id}}`, `{{agent.name}}` or
    /// `{{agent.email}}` where those go.
    pub text: String,
}

/// What fills a canned reply's variables.
#[derive(Clone, Debug, Default)]
pub struct Fill<'a> {
    pub contact_name: Option<&'a str>,
    pub conversation_id: &'a str,
    pub agent_name: &'a str,
    pub agent_email: &'a str,
}

impl CannedReply {
    pub fn problem(&self) -> Option<String> {
        let code_ok = !self.short_code.is_empty()
            && self.short_code.chars().count() <= 32
            && self
                .short_code
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'));
        if !code_ok {
            return Some("a short code is 1 to 32 letters, digits, `-` and `_`".into());
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 100 {
            return Some("a title is 1 to 100 characters".into());
        }
        if self.text.trim().is_empty() || self.text.chars().count() > MAX_CANNED_CHARS {
            return Some(format!(
                "a canned reply's text is 1 to {MAX_CANNED_CHARS} characters"
            ));
        }
        if let Some(lang) = &self.language
            && (lang.is_empty()
                || lang.len() > 16
                || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Some("a language is a tag like `fa` or `en-GB`".into());
        }
        variables(&self.text)
            .into_iter()
            .find(|v| !VARIABLES.contains(&v.as_str()))
            .map(|v| {
                format!(
                    "`{{{{{v}}}}}` is not a variable; use {}",
                    VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", ")
                )
            })
    }

    /// The text with its variables filled in. A value goes in as plain text: each
    /// channel's sender escapes it as it escapes an agent's own words.
    pub fn render(&self, fill: &Fill<'_>) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            let value = match after[..end].trim() {
                "contact.name" => fill.contact_name.unwrap_or(""),
                "conversation.id" => fill.conversation_id,
                "agent.name" => fill.agent_name,
                "agent.email" => fill.agent_email,
                // Checked when saved; one unknown since is left as written.
                _ => &rest[start..start + 2 + end + 2],
            };
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether it is found by `query` (its short code, title or text; any script).
    pub fn matches(&self, query: &str) -> bool {
        let q = normalize_text(query.trim().trim_start_matches('/'));
        q.is_empty()
            || normalize_text(&self.short_code).starts_with(&q)
            || normalize_text(&self.title).contains(&q)
            || normalize_text(&self.text).contains(&q)
    }
}

/// The names between `{{` and `}}` in `text`.
fn variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    found
}

/// One step of a macro.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum MacroStep {
    /// Send this canned reply on the customer's channel.
    Reply {
        canned_reply_id: CannedReplyId,
    },
    AddTags {
        tags: Vec<String>,
    },
    SetStatus {
        status: ConversationStatus,
    },
    SetPriority {
        priority: Priority,
    },
    /// Give it to this agent; none: to whoever runs the macro.
    Assign {
        agent_id: Option<AgentId>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Macro {
    pub id: MacroId,
    pub name: String,
    /// Run in order; a reply goes before the changes (so "answer and resolve" answers
    /// first).
    pub steps: Vec<MacroStep>,
}

impl Macro {
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Some("a macro's name is 1 to 100 characters".into());
        }
        if self.steps.is_empty() || self.steps.len() > 10 {
            return Some("a macro has 1 to 10 steps".into());
        }
        let replies = self
            .steps
            .iter()
            .filter(|s| matches!(s, MacroStep::Reply { .. }))
            .count();
        if replies > 1 {
            return Some("a macro sends at most one reply".into());
        }
        let bad_tags = self.steps.iter().any(|s| {
            matches!(s, MacroStep::AddTags { tags }
                if tags.is_empty() || tags.iter().any(|t| normalize_tag(t).is_none()))
        });
        bad_tags.then(|| "tags are letters, digits, `-`, `_` and `:`, up to 50".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canned(text: &str) -> CannedReply {
        CannedReply {
            id: CannedReplyId::new(),
            short_code: "refund".into(),
            title: "Refund on its way".into(),
            language: Some("en".into()),
            text: text.into(),
        }
    }

    #[test]
    fn variables_are_filled_and_markup_in_a_value_stays_text() {
        let c = canned("Hi {{contact.name}}, about {{ conversation.id }}: done. — {{agent.name}}");
        assert_eq!(c.problem(), None);
        let fill = Fill {
            contact_name: Some("<b>Sara</b>"),
            conversation_id: "cv_1",
            agent_name: "Reza",
            agent_email: "reza@shop.example",
        };
        assert_eq!(
            c.render(&fill),
            "Hi <b>Sara</b>, about cv_1: done. — Reza",
            "plain text: the channel's sender escapes it like an agent's own words"
        );
        let nameless = Fill {
            contact_name: None,
            ..fill
        };
        assert_eq!(canned("Hi {{contact.name}}!").render(&nameless), "Hi !");
        assert_eq!(canned("a {{ b").render(&nameless), "a {{ b");
    }

    #[test]
    fn only_known_variables_and_readable_codes_are_kept() {
        let unknown = canned("Hi {{customer.name}}");
        assert!(unknown.problem().unwrap().contains("customer.name"));
        let mut bad_code = canned("Hi");
        bad_code.short_code = "two words".into();
        assert!(bad_code.problem().unwrap().contains("short code"));
        let mut persian = canned("سلام {{contact.name}}");
        persian.short_code = "بازپرداخت".into();
        persian.language = Some("fa".into());
        assert_eq!(persian.problem(), None);
    }

    #[test]
    fn search_finds_by_code_prefix_title_or_text_in_any_script() {
        let mut c = canned("سلام، مبلغ به كارت شما برگشت");
        c.title = "Refund on its way".into();
        assert!(c.matches("/ref"));
        assert!(c.matches("its way"));
        assert!(c.matches("کارت"), "an Arabic kaf in the text");
        assert!(!c.matches("shipping"));
        assert!(c.matches(""));
    }

    #[test]
    fn a_macro_sends_at_most_one_reply() {
        let id = CannedReplyId::new();
        let m = Macro {
            id: MacroId::new(),
            name: "Answer and resolve".into(),
            steps: vec![
                MacroStep::Reply {
                    canned_reply_id: id,
                },
                MacroStep::SetStatus {
                    status: ConversationStatus::Resolved,
                },
            ],
        };
        assert_eq!(m.problem(), None);
        let twice = Macro {
            steps: vec![
                MacroStep::Reply {
                    canned_reply_id: id,
                },
                MacroStep::Reply {
                    canned_reply_id: id,
                },
            ],
            ..m.clone()
        };
        assert!(twice.problem().unwrap().contains("one reply"));
        let empty = Macro { steps: vec![], ..m };
        assert!(empty.problem().unwrap().contains("steps"));
    }
}
