//! The shared vocabulary of the bottom layers: risk tiers, routes, case statuses and typed
//! answers. A leaf module: `rules` and `domain` both use it and it uses neither, so the two
//! layers do not import each other.

use serde::{Deserialize, Serialize};

/// An enum spelled in snake_case strings in JSON, the database and the rules.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod agents;

string_enum!(
    /// Risk tiers, ordered from least to most severe.
    Tier {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
        Prohibited = "prohibited",
    }
);

string_enum!(
    /// What triage does with a case.
    Route {
        AutoClear = "auto_clear",
        FunctionalReview = "functional_review",
        HumanApproval = "human_approval",
        Blocked = "blocked",
    }
);

string_enum!(
    Status {
        Draft = "draft",
        Submitted = "submitted",
        InReview = "in_review",
        AwaitingApproval = "awaiting_approval",
        ChangesRequested = "changes_requested",
        Approved = "approved",
        Rejected = "rejected",
        Blocked = "blocked",
        Withdrawn = "withdrawn",
    }
);

/// One answer, typed by its question's kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Bool(bool),
    Int(i64),
    Number(f64),
    /// A single choice or free text.
    Text(String),
    /// A multiple choice.
    Choices(Vec<String>),
}

/// Read straight from the JSON type (an untagged derive would buffer every value first;
/// stored answers are read in bulk by `rules simulate`).
impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Answer;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a boolean, number, string or array of strings")
            }

            fn visit_bool<E>(self, b: bool) -> Result<Answer, E> {
                Ok(Answer::Bool(b))
            }

            fn visit_i64<E>(self, i: i64) -> Result<Answer, E> {
                Ok(Answer::Int(i))
            }

            fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Answer, E> {
                i64::try_from(u)
                    .map(Answer::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }

            fn visit_f64<E>(self, f: f64) -> Result<Answer, E> {
                Ok(Answer::Number(f))
            }

            fn visit_str<E>(self, s: &str) -> Result<Answer, E> {
                Ok(Answer::Text(s.to_string()))
            }

            fn visit_string<E>(self, s: String) -> Result<Answer, E> {
                Ok(Answer::Text(s))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Answer, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(Answer::Choices(v))
            }
        }
        d.deserialize_any(V)
    }
}
