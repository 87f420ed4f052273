//! What the domain says to people, said once: what is wrong with a field, and why two use cases
//! look alike. Each message is a key the pages translate (`says_<key>` in
//! `templates/i18n/<lang>.toml`), the values it names, and its English text, which the JSON
//! API sends as it always has. The English here is the only English of these messages: the
//! pages take it as their English string too.

/// The English of every message, by key, with its placeholders (`{max}`, `{value}`…).
pub const MESSAGES: &[(&str, &str)] = &[
    ("required", "an answer is required"),
    ("unknown_question", "unknown question id"),
    ("true_or_false", "must be true or false"),
    ("yes_or_no", "must be yes or no"),
    ("a_string", "must be a string"),
    ("strings", "must be an array of strings"),
    ("too_long", "must be at most {max} characters"),
    ("longer_than", "at most {max} characters"),
    ("blank", "must not be blank"),
    ("not_one_of", "\"{value}\" is not one of: {options}"),
    ("one_of", "must be one of: {options}"),
    ("given_twice", "\"{value}\" is given twice"),
    (
        "none_alone",
        "\"none\" cannot be combined with other options",
    ),
    ("whole_number", "must be a whole number"),
    ("finite_number", "must be a finite number"),
    ("a_number", "must be a number"),
    ("from_to", "must be from {min} to {max}"),
    ("at_least", "must be at least {min}"),
    ("at_most", "must be at most {max}"),
    ("shared_terms", "shared terms: {terms}"),
    ("same_function", "same business function: {function}"),
    ("other_agency", "in another agency: {agency}"),
    ("rationale_required", "a rationale is required to {action}"),
    ("comment_text", "a comment needs its text in `rationale`"),
    ("choose_decision", "choose a decision"),
    ("at", "{path}: {message}"),
    ("not_negative", "must be a number from 0 upwards"),
    ("tool_twice", "the agent already has a tool named \"{name}\""),
    ("not_a_data_category", "\"{value}\" is not a data category ({options})"),
    ("threshold_needed", "approval above a threshold needs the threshold"),
    ("threshold_only_above", "a threshold is given only with approval = \"above_threshold\""),
    ("no_such_agent", "no agent has the id \"{id}\""),
    ("internal_delegation", "an internal delegation goes to an agent of this use case (its id); mark it external otherwise"),
    ("self_delegation", "an agent does not delegate to itself"),
    ("too_many_skills", "at most {max} skills"),
    ("too_many_agents", "at most {max} agents"),
    ("too_many_delegations", "at most {max} delegations"),
    ("too_many_tools", "at most {max} tools"),
    ("agent_id", "1 to 64 lower-case letters, digits, - or _"),
    ("agent_id_taken", "another agent has the id \"{id}\""),
    ("delegates_twice", "\"{from}\" already delegates to \"{to}\""),
    ("mcp_tools_array", "an MCP tools/list result has a `tools` array (or `result.tools`)"),
    ("mcp_tool_name", "every MCP tool has a name"),
    ("card_name", "an Agent Card has a name"),
    ("security_requirement", "a security requirement maps scheme names to scopes"),
    ("not_a_scheme", "\"{name}\" is not a security scheme the card declares"),
    ("declare_agent_first", "no agent has the id \"{id}\": declare it first"),
    ("choose_format", "choose what the document is"),
    ("not_json", "not valid JSON: {detail}"),
    ("not_declarations", "not valid declarations: {detail}"),
];

/// One message about a field.
#[derive(Debug, Clone, PartialEq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Says {
    Required,
    UnknownQuestion,
    TrueOrFalse,
    YesOrNo,
    AString,
    Strings,
    /// An answer's text is too long.
    TooLong {
        max: usize,
    },
    /// A field of the form itself (title, summary…) is too long.
    LongerThan {
        max: usize,
    },
    Blank,
    NotOneOf {
        value: String,
        options: Vec<String>,
    },
    OneOf {
        options: Vec<String>,
    },
    GivenTwice {
        value: String,
    },
    NoneAlone,
    WholeNumber,
    FiniteNumber,
    ANumber,
    FromTo {
        min: f64,
        max: f64,
    },
    AtLeast {
        min: f64,
    },
    AtMost {
        max: f64,
    },
    /// Why two use cases look alike: the words they share, most telling first.
    SharedTerms {
        terms: Vec<String>,
    },
    SameFunction {
        function: String,
    },
    OtherAgency {
        agency: String,
    },
    /// A decision without its reasons; `action` as the API spells it (`request_changes`).
    RationaleRequired {
        action: String,
    },
    CommentText,
    ChooseDecision,
    /// A message about one element of a field: `agents[0].name: must not be blank`.
    At {
        path: String,
        inner: Box<Says>,
    },
    // Agent declarations and the documents they are imported from.
    NotNegative,
    ToolTwice {
        name: String,
    },
    NotADataCategory {
        value: String,
        options: Vec<String>,
    },
    ThresholdNeeded,
    ThresholdOnlyAbove,
    NoSuchAgent {
        id: String,
    },
    InternalDelegation,
    SelfDelegation,
    TooManySkills {
        max: usize,
    },
    TooManyAgents {
        max: usize,
    },
    TooManyDelegations {
        max: usize,
    },
    TooManyTools {
        max: usize,
    },
    AgentId,
    AgentIdTaken {
        id: String,
    },
    DelegatesTwice {
        from: String,
        to: String,
    },
    McpToolsArray,
    McpToolName,
    CardName,
    SecurityRequirement,
    NotAScheme {
        name: String,
    },
    DeclareAgentFirst {
        id: String,
    },
    ChooseFormat,
    /// `detail` is the parser's own words (English).
    NotJson {
        detail: String,
    },
    NotDeclarations {
        detail: String,
    },
}

/// A value a message names, written by whoever shows it: a number in the reader's way of
/// writing numbers, a list with the reader's list separator.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Count(usize),
    Number(f64),
    Text(&'a str),
    List(&'a [String]),
    /// A word of the vocabulary, which pages name by their string `<prefix><word>`.
    Term(&'static str, &'a str),
    /// Another message, said the same way.
    Said(&'a Says),
}

impl Says {
    /// The message's key: its name in snake case (`Says::TooLong` is `too_long`).
    pub fn key(&self) -> &'static str {
        self.into()
    }

    /// The values the message names, by placeholder.
    pub fn args(&self) -> Vec<(&'static str, Arg<'_>)> {
        match self {
            Says::TooLong { max }
            | Says::LongerThan { max }
            | Says::TooManySkills { max }
            | Says::TooManyAgents { max }
            | Says::TooManyDelegations { max }
            | Says::TooManyTools { max } => vec![("max", Arg::Count(*max))],
            Says::At { path, inner } => {
                vec![("path", Arg::Text(path)), ("message", Arg::Said(inner))]
            }
            Says::ToolTwice { name } | Says::NotAScheme { name } => vec![("name", Arg::Text(name))],
            Says::NotADataCategory { value, options } => {
                vec![("value", Arg::Text(value)), ("options", Arg::List(options))]
            }
            Says::NoSuchAgent { id }
            | Says::AgentIdTaken { id }
            | Says::DeclareAgentFirst { id } => {
                vec![("id", Arg::Text(id))]
            }
            Says::DelegatesTwice { from, to } => {
                vec![("from", Arg::Text(from)), ("to", Arg::Text(to))]
            }
            Says::NotJson { detail } | Says::NotDeclarations { detail } => {
                vec![("detail", Arg::Text(detail))]
            }
            Says::NotOneOf { value, options } => {
                vec![("value", Arg::Text(value)), ("options", Arg::List(options))]
            }
            Says::OneOf { options } => vec![("options", Arg::List(options))],
            Says::GivenTwice { value } => vec![("value", Arg::Text(value))],
            Says::FromTo { min, max } => {
                vec![("min", Arg::Number(*min)), ("max", Arg::Number(*max))]
            }
            Says::AtLeast { min } => vec![("min", Arg::Number(*min))],
            Says::AtMost { max } => vec![("max", Arg::Number(*max))],
            Says::SharedTerms { terms } => vec![("terms", Arg::List(terms))],
            Says::SameFunction { function } => vec![("function", Arg::Text(function))],
            Says::OtherAgency { agency } => vec![("agency", Arg::Text(agency))],
            Says::RationaleRequired { action } => vec![("action", Arg::Term("action_", action))],
            _ => vec![],
        }
    }

    /// The English template (with placeholders).
    pub fn english_template(&self) -> &'static str {
        let key = self.key();
        MESSAGES
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, english)| english)
    }

    /// The message written from `template` (its English or a translation): each placeholder
    /// replaced by its value as `w` writes it.
    pub fn fill(&self, template: &str, w: &Writer) -> String {
        self.args()
            .into_iter()
            .fold(template.to_string(), |text, (name, arg)| {
                let value = match arg {
                    Arg::Count(n) => (w.number)(n as f64),
                    Arg::Number(n) => (w.number)(n),
                    Arg::Text(s) => s.to_string(),
                    Arg::List(items) => items.join(w.separator),
                    Arg::Term(prefix, word) => (w.term)(prefix, word),
                    Arg::Said(inner) => (w.say)(inner),
                };
                text.replace(&format!("{{{name}}}"), &value)
            })
    }

    /// The message in English, as the API says it (`must be from 0 to 100`).
    pub fn english(&self) -> String {
        self.fill(
            self.english_template(),
            &Writer {
                number: &|n| n.to_string(),
                separator: ", ",
                term: &|_, word| word.to_string(),
                say: &Says::english,
            },
        )
    }
}

/// How a reader writes the values a message names.
pub struct Writer<'a> {
    pub number: &'a dyn Fn(f64) -> String,
    pub separator: &'a str,
    /// A word of the vocabulary, by its string `<prefix><word>`.
    pub term: &'a dyn Fn(&str, &str) -> String,
    /// A message within a message.
    pub say: &'a dyn Fn(&Says) -> String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every() -> Vec<Says> {
        let options = vec!["a".to_string(), "b".to_string()];
        vec![
            Says::Required,
            Says::UnknownQuestion,
            Says::TrueOrFalse,
            Says::YesOrNo,
            Says::AString,
            Says::Strings,
            Says::TooLong { max: 3 },
            Says::LongerThan { max: 3 },
            Says::Blank,
            Says::NotOneOf {
                value: "x".into(),
                options: options.clone(),
            },
            Says::OneOf { options },
            Says::GivenTwice { value: "x".into() },
            Says::NoneAlone,
            Says::WholeNumber,
            Says::FiniteNumber,
            Says::ANumber,
            Says::FromTo { min: 0.0, max: 5.0 },
            Says::AtLeast { min: 0.0 },
            Says::AtMost { max: 1.5 },
            Says::SharedTerms {
                terms: vec!["x".into()],
            },
            Says::SameFunction {
                function: "x".into(),
            },
            Says::OtherAgency { agency: "x".into() },
            Says::RationaleRequired {
                action: "approve".into(),
            },
            Says::CommentText,
            Says::ChooseDecision,
            Says::At {
                path: "agents[0].name".into(),
                inner: Box::new(Says::Blank),
            },
            Says::NotNegative,
            Says::ToolTwice { name: "x".into() },
            Says::NotADataCategory {
                value: "x".into(),
                options: vec!["a".into()],
            },
            Says::ThresholdNeeded,
            Says::ThresholdOnlyAbove,
            Says::NoSuchAgent { id: "x".into() },
            Says::InternalDelegation,
            Says::SelfDelegation,
            Says::TooManySkills { max: 1 },
            Says::TooManyAgents { max: 1 },
            Says::TooManyDelegations { max: 1 },
            Says::TooManyTools { max: 1 },
            Says::AgentId,
            Says::AgentIdTaken { id: "x".into() },
            Says::DelegatesTwice {
                from: "a".into(),
                to: "b".into(),
            },
            Says::McpToolsArray,
            Says::McpToolName,
            Says::CardName,
            Says::SecurityRequirement,
            Says::NotAScheme { name: "x".into() },
            Says::DeclareAgentFirst { id: "x".into() },
            Says::ChooseFormat,
            Says::NotJson { detail: "x".into() },
            Says::NotDeclarations { detail: "x".into() },
        ]
    }

    #[test]
    fn every_message_has_one_english_text_and_names_only_its_own_values() {
        let all = every();
        assert_eq!(all.len(), MESSAGES.len(), "every key is a message");
        for says in all {
            let key = says.key();
            assert_eq!(
                MESSAGES.iter().filter(|(k, _)| *k == key).count(),
                1,
                "{key}"
            );
            let english = says.english();
            assert!(!english.contains('{'), "{key}: {english}");
            let placeholders = says.english_template().matches('{').count();
            assert_eq!(placeholders, says.args().len(), "{key}");
        }
    }

    #[test]
    fn the_english_is_what_the_api_has_always_said() {
        assert_eq!(
            Says::FromTo {
                min: 0.0,
                max: 100.0
            }
            .english(),
            "must be from 0 to 100"
        );
        assert_eq!(Says::AtMost { max: 2.5 }.english(), "must be at most 2.5");
        assert_eq!(
            Says::NotOneOf {
                value: "z".into(),
                options: vec!["a".into(), "b".into()]
            }
            .english(),
            "\"z\" is not one of: a, b"
        );
        assert_eq!(
            Says::TooLong { max: 2000 }.english(),
            "must be at most 2000 characters"
        );
    }

    #[test]
    fn a_translation_gets_the_values_written_its_own_way() {
        let says = Says::FromTo {
            min: 0.0,
            max: 250000.0,
        };
        let w = Writer {
            number: &|n| format!("<{n}>"),
            separator: " ; ",
            term: &|prefix, word| format!("[{prefix}{word}]"),
            say: &|s| format!("({})", s.key()),
        };
        let fr = says.fill("doit être compris entre {min} et {max}", &w);
        assert_eq!(fr, "doit être compris entre <0> et <250000>");
        let changes = Says::RationaleRequired {
            action: "request_changes".into(),
        };
        assert_eq!(
            changes.english(),
            "a rationale is required to request_changes"
        );
        assert_eq!(
            changes.fill("pour {action}", &w),
            "pour [action_request_changes]"
        );
    }
}
