//! The shared vocabulary of the bottom layers: risk tiers, routes, case statuses and typed
//! answers. A leaf module: `rules` and `domain` both use it and it uses neither, so the two
//! layers do not import each other.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// The names the rest of the code calls on a vocabulary enum (`ALL`, `as_str`, `parse`), over
/// what strum derives for it. Each such enum derives serde's and strum's traits with
/// `rename_all`/`serialize_all = "snake_case"`, so JSON, the database and the rules spell it
/// one way, and is followed by `words!(Name)`; each module's `one_spelling` test checks that
/// serde and strum agree.
macro_rules! words {
    ($name:ident) => {
        impl $name {
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    };
}

/// Asserts that every variant of each enum is spelled the same by
/// serde (both ways), strum (`Display`, `EnumString`) and `as_str`/`parse`.
#[cfg(test)]
macro_rules! assert_one_spelling {
    ($($name:ident);+ $(;)?) => {$(
        for &v in <$name>::ALL {
            let s = v.as_str();
            assert_eq!(serde_json::to_value(v).ok(), Some(serde_json::Value::from(s)), "{v:?}");
            assert_eq!(serde_json::from_value::<$name>(s.into()).ok(), Some(v), "{s}");
            assert_eq!(v.to_string(), s);
            assert_eq!(s.parse::<$name>().ok(), Some(v), "{s}");
            assert_eq!(<$name>::parse(s), Some(v), "{s}");
        }
    )+};
}

pub mod agents;
pub mod ids;

pub use ids::{AgencyCode, CaseId, UserId};

/// Risk tiers, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Tier {
    Low,
    Medium,
    High,
    Critical,
    Prohibited,
}

words!(Tier);

/// What triage does with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Route {
    AutoClear,
    FunctionalReview,
    HumanApproval,
    Blocked,
}

words!(Route);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    InReview,
    AwaitingApproval,
    ChangesRequested,
    Approved,
    Rejected,
    Blocked,
    Withdrawn,
}

words!(Status);

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

#[cfg(test)]
mod tests {
    use super::agents::{
        ApprovalPoint, AuthScheme, Each, Effect, Guardrail, IdentityKind, ImportFormat,
    };
    use super::*;

    #[test]
    fn one_spelling() {
        assert_one_spelling!(
            Tier; Route; Status; Effect; IdentityKind; ApprovalPoint; Guardrail; Each; ImportFormat;
            AuthScheme;
        );
    }

    #[test]
    fn all_lists_every_variant_in_declaration_order() {
        assert_eq!(
            Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            [
                "draft",
                "submitted",
                "in_review",
                "awaiting_approval",
                "changes_requested",
                "approved",
                "rejected",
                "blocked",
                "withdrawn"
            ]
        );
        assert!(Tier::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
