//! The CloudTrail IAM event names event mode reacts to: one enum, written once.
//!
//! The list of supported names, parsing a name, and the did-you-mean hint for a misspelt
//! `on_events` entry all come from the one list in `event_names!`'s invocation below. How
//! each event changes an inventory is in `event/kinds/` (one arm per name there; the match is
//! exhaustive, so a name without a fold does not compile).
//!
//! Layer: with `iam` and `ops`, below `spec`; imports only `diag`.

use crate::diag::did_you_mean;

macro_rules! event_names {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// An IAM event name event mode understands (CloudTrail's `eventName`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventName {
            $($(#[$doc])* $name,)*
        }

        impl EventName {
            /// Every supported name, in the order messages list them.
            pub const ALL: &'static [EventName] = &[$(EventName::$name,)*];

            /// The name as CloudTrail writes it, e.g. `CreatePolicy`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventName::$name => stringify!($name),)*
                }
            }
        }
    };
}

event_names! {
    /// A customer-managed policy was created.
    CreatePolicy,
    /// A managed policy got a new version (maybe the default).
    CreatePolicyVersion,
    /// Another version of a managed policy became the default.
    SetDefaultPolicyVersion,
    /// A user's inline policy was put.
    PutUserPolicy,
    /// A group's inline policy was put.
    PutGroupPolicy,
    /// A role's inline policy was put.
    PutRolePolicy,
    /// A managed policy was attached to a user.
    AttachUserPolicy,
    /// A managed policy was attached to a group.
    AttachGroupPolicy,
    /// A managed policy was attached to a role.
    AttachRolePolicy,
    /// A user joined a group.
    AddUserToGroup,
    /// An access key was created.
    CreateAccessKey,
    /// A console password was created.
    CreateLoginProfile,
    /// A role's trust policy changed.
    UpdateAssumeRolePolicy,
    /// The account password policy was set.
    UpdateAccountPasswordPolicy,
    /// The account password policy was deleted.
    DeleteAccountPasswordPolicy,
    /// An MFA device was deactivated.
    DeactivateMFADevice,
}

impl EventName {
    /// The event with this exact name.
    pub fn parse(text: &str) -> Option<EventName> {
        EventName::ALL.iter().copied().find(|e| e.as_str() == text)
    }

    /// Every supported name.
    pub fn names() -> impl Iterator<Item = &'static str> {
        EventName::ALL.iter().map(|e| e.as_str())
    }

    /// "did you mean `CreatePolicy`?" for a near miss.
    pub fn hint(text: &str) -> Option<String> {
        did_you_mean(text, EventName::names())
    }
}

impl EventName {
    /// Why `text` is no event name, naming the ones there are: the one message packs and
    /// plans get for it.
    pub fn unknown(text: &str) -> String {
        format!(
            "`{text}` is not an event iamwarden reacts to (it reacts to: {})",
            EventName::names().collect::<Vec<_>>().join(", ")
        )
    }
}

/// Written as CloudTrail's name.
impl serde::Serialize for EventName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read from CloudTrail's name; an unknown one is an error naming the known ones, with a
/// did-you-mean (the pack loader checks names first, to report them at their position).
impl<'de> serde::Deserialize<'de> for EventName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EventName, D::Error> {
        let text = String::deserialize(d)?;
        EventName::parse(&text).ok_or_else(|| {
            let hint = EventName::hint(&text)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            serde::de::Error::custom(format!("{}{hint}", EventName::unknown(&text)))
        })
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for EventName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::EventName;

    #[test]
    fn every_name_parses_back_and_near_misses_get_a_hint() {
        assert_eq!(EventName::ALL.len(), 16);
        for e in EventName::ALL {
            assert_eq!(EventName::parse(e.as_str()), Some(*e));
        }
        assert_eq!(EventName::parse("createpolicy"), None);
        assert_eq!(
            EventName::hint("CreatePolcy").as_deref(),
            Some("did you mean `CreatePolicy`?")
        );
    }

    #[test]
    fn names_read_and_write_as_cloudtrail_spells_them() {
        let e: EventName = serde_json::from_value(serde_json::json!("CreatePolicy")).unwrap();
        assert_eq!(e, EventName::CreatePolicy);
        assert_eq!(serde_json::to_value(e).unwrap(), "CreatePolicy");
        let err = serde_json::from_value::<EventName>(serde_json::json!("CreatePolcy"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`CreatePolcy` is not an event iamwarden reacts to")
                && err.contains("did you mean `CreatePolicy`?"),
            "{err}"
        );
    }
}
