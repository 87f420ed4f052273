//! The identifiers that cross layers: a use case's id, a user's id, an agency's code. Each is
//! text, as stored and as JSON (serde-transparent: the API's JSON does not change), typed so
//! that one cannot be passed where another is meant. Each is stored as a `Text` column: the
//! `ToSql`/`FromSql` below delegate to `str`/`String` for whichever backend diesel uses, so
//! they hold through the `MultiConnection` backend too (whose own impls are generated for the
//! standard types only).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[derive(Serialize, Deserialize, diesel::AsExpression, diesel::FromSqlRow)]
        #[serde(transparent)]
        #[diesel(sql_type = Text)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Lets a map keyed by ids be read with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl<DB> ToSql<Text, DB> for $name
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.0.as_str(), out)
            }
        }

        impl<DB> FromSql<Text, DB> for $name
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, DB>>::from_sql(bytes).map($name)
            }
        }
    };
}

text_id!(
    /// A use case's id: a UUID, written in its hyphenated lower-case form.
    CaseId
);

text_id!(
    /// A user's id (a UUID, as stored).
    UserId
);

text_id!(
    /// An agency's code, as people and the API name it (`IMF`, `UNICEF`), not its row id.
    AgencyCode
);

impl CaseId {
    /// A new id (a time-ordered UUID, so ids sort by creation).
    pub fn generate() -> CaseId {
        CaseId(uuid::Uuid::now_v7().to_string())
    }

    /// The id written in `s`, when it is a UUID (in any form UUIDs are written in), in its
    /// canonical form; `None` otherwise.
    pub fn parse(s: &str) -> Option<CaseId> {
        uuid::Uuid::parse_str(s)
            .ok()
            .map(|u| CaseId(u.hyphenated().to_string()))
    }
}

impl AgencyCode {
    /// A code as typed, as codes are stored: trimmed, upper case (`unhcr` names `UNHCR`).
    pub fn normalized(typed: &str) -> AgencyCode {
        AgencyCode(typed.trim().to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_plain_text_in_json() {
        let id = CaseId::from("0190c1f2-aaaa-7bbb-8ccc-000000000001");
        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(
            json,
            serde_json::json!("0190c1f2-aaaa-7bbb-8ccc-000000000001")
        );
        assert_eq!(serde_json::from_value::<CaseId>(json).unwrap(), id);
    }

    #[test]
    fn a_case_id_is_parsed_from_a_uuid_only_and_written_canonically() {
        assert_eq!(
            CaseId::parse("0190C1F2AAAA7BBB8CCC000000000001").map(CaseId::into_string),
            Some("0190c1f2-aaaa-7bbb-8ccc-000000000001".to_string())
        );
        assert_eq!(CaseId::parse("not-a-uuid"), None);
        assert_ne!(CaseId::generate(), CaseId::generate());
    }

    #[test]
    fn an_agency_code_is_compared_upper_case() {
        assert_eq!(AgencyCode::normalized(" unhcr "), AgencyCode::from("UNHCR"));
    }
}
