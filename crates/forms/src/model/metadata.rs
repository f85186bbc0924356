//! Metadata questions (`start`, `end`, `today`, `deviceid`, `username`...) filled in by
//! the device itself, with nobody asked: what each is given when a response is started
//! and when it is finalized.

use chrono::{DateTime, FixedOffset};

use super::{CompiledForm, MetaType, RangeParams};
use crate::Value;

/// What the device knows about itself and its user, for metadata answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device's id (`deviceid`).
    pub device_id: String,
    /// The signed-in user's name (`username`).
    pub username: String,
}

/// When metadata is filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaMoment {
    /// The response is started: `start`, `today`, `deviceid`, `username`.
    Start,
    /// The response is finalized: `end`.
    Finalize,
}

/// A date-time as ODK writes `start` and `end`: `2024-03-01T14:30:00.000-05:00`.
pub fn odk_timestamp(at: &DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

impl CompiledForm {
    /// The metadata questions outside repeats (their answers sit at the top of the
    /// response; groups do not nest answers), in document order.
    pub fn metadata(&self) -> Vec<(&str, MetaType)> {
        self.nodes
            .iter()
            .filter(|n| n.repeat.is_none())
            .filter_map(|n| Some((n.name.as_str(), n.question.as_ref()?.qtype.meta()?)))
            .collect()
    }

    /// The answers the device gives metadata questions at `moment`, by question name.
    /// Types the core does not fill (`simserial`, `subscriberid`, `phonenumber`,
    /// `email`, `audit`) are left out: they stay empty.
    pub fn metadata_values(
        &self,
        moment: MetaMoment,
        now: &DateTime<FixedOffset>,
        facts: &DeviceFacts,
    ) -> Vec<(String, Value)> {
        self.metadata()
            .into_iter()
            .filter_map(|(name, m)| {
                let value = match (moment, m) {
                    (MetaMoment::Start, MetaType::Start) => odk_timestamp(now),
                    (MetaMoment::Start, MetaType::Today) => {
                        now.date_naive().format("%Y-%m-%d").to_string()
                    }
                    (MetaMoment::Start, MetaType::DeviceId) => facts.device_id.clone(),
                    (MetaMoment::Start, MetaType::Username) => facts.username.clone(),
                    (MetaMoment::Finalize, MetaType::End) => odk_timestamp(now),
                    _ => return None,
                };
                (!value.is_empty()).then(|| (name.to_string(), Value::Text(value)))
            })
            .collect()
    }

    /// A `range` question's checked bounds.
    pub fn range(&self, name: &str) -> Option<RangeParams> {
        self.node(name)?.range
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Form, Item, Question, QuestionType};

    #[test]
    fn start_and_finalize_fill_their_types() {
        let mut form = Form::from_json(r#"{"id": "f", "version": 1, "items": []}"#).unwrap();
        for m in MetaType::ALL {
            form.items.push(Item::Question(Question::new(
                m.name(),
                QuestionType::Meta(m),
            )));
        }
        let form = form.compile().unwrap();
        let now = DateTime::parse_from_rfc3339("2024-03-01T14:30:05-05:00").unwrap();
        let facts = DeviceFacts {
            device_id: "dev-1".into(),
            username: "ana".into(),
        };
        let start = form.metadata_values(MetaMoment::Start, &now, &facts);
        let text = |v: &[(String, Value)], n: &str| {
            v.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_text())
        };
        assert_eq!(
            text(&start, "start").as_deref(),
            Some("2024-03-01T14:30:05.000-05:00")
        );
        assert_eq!(text(&start, "today").as_deref(), Some("2024-03-01"));
        assert_eq!(text(&start, "deviceid").as_deref(), Some("dev-1"));
        assert_eq!(text(&start, "username").as_deref(), Some("ana"));
        assert_eq!(start.len(), 4);
        let end = form.metadata_values(MetaMoment::Finalize, &now, &facts);
        assert_eq!(
            end,
            vec![(
                "end".into(),
                Value::Text("2024-03-01T14:30:05.000-05:00".into())
            )]
        );
    }
}
