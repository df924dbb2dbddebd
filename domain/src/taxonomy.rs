//! Ways citizens browse the catalogue: topics (áreas de interesse), life events (linhas da vida),
//! audience segments and channel types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Declares a closed vocabulary once: its code, pt-BR label and the federal schema's name.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident { $($variant:ident = $code:literal, $label:literal, $govbr:literal;)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The API and database code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The pt-BR label shown to citizens.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// The name used by the federal schema v3.
            pub fn govbr_name(self) -> &'static str {
                match self { $($name::$variant => $govbr,)+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|item| item.code() == code)
            }

            pub fn from_govbr(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|item| item.govbr_name() == name)
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// The four federal audience segments (segmentos da sociedade).
    SegmentCode {
        Citizens = "citizens", "Cidadãos", "Cidadãos";
        Companies = "companies", "Empresas", "Empresas";
        PublicBodies = "public_bodies", "Órgãos e entidades públicas", "Órgãos e entidades públicas";
        OtherOrganizations = "other_organizations", "Demais segmentos (ONGs, organizações sociais, etc.)", "Demais segmentos (ONGs, organizações sociais, etc)";
    }
}

vocabulary! {
    /// The 18 federal channel types (canais de prestação).
    ChannelTypeCode {
        MobileApp = "mobile_app", "Aplicativo móvel", "aplicativo-movel";
        Email = "email", "E-mail", "e-mail";
        Fax = "fax", "Fax", "fax";
        Postal = "postal", "Postal", "postal";
        InPerson = "in_person", "Presencial", "presencial";
        Sms = "sms", "SMS", "sms";
        Phone = "phone", "Telefone", "telefone";
        Web = "web", "Web", "web";
        WebTrack = "web_track", "Web: acompanhar", "web-acompanhar";
        WebSchedule = "web_schedule", "Web: agendar", "web-agendar";
        WebCalculateFees = "web_calculate_fees", "Web: calcular taxas", "web-calcular-taxas";
        WebConsult = "web_consult", "Web: consultar", "web-consultar";
        WebDeclare = "web_declare", "Web: declarar", "web-declarar";
        WebIssue = "web_issue", "Web: emitir", "web-emitir";
        WebEnroll = "web_enroll", "Web: inscrever-se", "web-inscrever-se";
        WebServicePoints = "web_service_points", "Web: postos de atendimento", "web-postos-de-atendimento";
        WebFill = "web_fill", "Web: preencher", "web-preencher";
        WebSimulate = "web_simulate", "Web: simular", "web-simular";
    }
}

impl ChannelTypeCode {
    /// Whether the channel is online.
    pub fn is_online(self) -> bool {
        !matches!(
            self,
            ChannelTypeCode::InPerson
                | ChannelTypeCode::Postal
                | ChannelTypeCode::Phone
                | ChannelTypeCode::Fax
                | ChannelTypeCode::Sms
        )
    }
}

/// An entry of a closed vocabulary as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VocabularyEntry {
    pub code: String,
    pub name: String,
    /// The federal schema v3 name.
    pub govbr_name: String,
}

/// A link to a topic or life event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxonRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A topic (área de interesse) to be stored; `parent` is the parent's slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopicDraft {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// A node of the topic tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Topic {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Published services tagged with this topic or its descendants, each once: what the `topic`
    /// filter of the service list finds.
    pub service_count: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    #[schema(no_recursion)]
    pub children: Vec<Topic>,
}

impl Topic {
    /// The tree kept to the topics changed after `after`, with the ancestors that place them.
    pub fn changed_after(nodes: Vec<Topic>, after: chrono::DateTime<chrono::Utc>) -> Vec<Topic> {
        nodes
            .into_iter()
            .filter_map(|mut node| {
                node.children = Topic::changed_after(node.children, after);
                (node.updated_at > after || !node.children.is_empty()).then_some(node)
            })
            .collect()
    }
}

/// One topic with its place in the tree, as read and written one at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopicDetail {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The topic it sits under; absent for a root topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaxonRef>,
    /// Its direct sub-topics, by name.
    pub children: Vec<TaxonRef>,
    /// Published services tagged with this topic or its descendants, each once, as in the tree.
    pub service_count: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A life event (linha da vida) to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LifeEventDraft {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LifeEvent {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Published services linked to this life event.
    pub service_count: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A flat topic row; `into_tree` assembles them.
#[derive(Debug, Clone)]
pub struct TopicRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    /// Published services tagged with this topic or one of its sub-topics, each once.
    pub service_count: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Builds the topic forest from flat rows, sorted by name at every level.
pub fn into_tree(rows: Vec<TopicRow>) -> Vec<Topic> {
    fn build(parent: Option<Uuid>, rows: &[TopicRow]) -> Vec<Topic> {
        let mut nodes: Vec<Topic> = rows
            .iter()
            .filter(|row| row.parent_id == parent)
            .map(|row| {
                let children = build(Some(row.id), rows);
                Topic {
                    id: row.id,
                    slug: row.slug.clone(),
                    name: row.name.clone(),
                    description: row.description.clone(),
                    service_count: row.service_count,
                    updated_at: row.updated_at,
                    children,
                }
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }
    build(None, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_eighteen_federal_channel_types_with_unique_codes() {
        assert_eq!(ChannelTypeCode::ALL.len(), 18);
        for item in ChannelTypeCode::ALL {
            assert_eq!(ChannelTypeCode::from_code(item.code()), Some(*item));
            assert_eq!(ChannelTypeCode::from_govbr(item.govbr_name()), Some(*item));
        }
        assert_eq!(SegmentCode::ALL.len(), 4);
    }

    #[test]
    fn topic_counts_come_from_the_rows() {
        let root = Uuid::from_u128(1);
        let child = Uuid::from_u128(2);
        let rows = vec![
            TopicRow {
                id: child,
                parent_id: Some(root),
                slug: "cnh".into(),
                name: "CNH".into(),
                description: None,
                service_count: 2,
                updated_at: chrono::DateTime::UNIX_EPOCH,
            },
            TopicRow {
                id: root,
                parent_id: None,
                slug: "transito".into(),
                name: "Trânsito".into(),
                description: None,
                service_count: 3,
                updated_at: chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(1),
            },
        ];
        let tree = into_tree(rows);
        assert_eq!(tree.len(), 1);
        assert_eq!(tree[0].service_count, 3);
        assert_eq!(tree[0].children[0].slug, "cnh");
        // Only the root changed after day 0: it stays, without the unchanged child.
        let changed = Topic::changed_after(tree.clone(), chrono::DateTime::UNIX_EPOCH);
        assert_eq!(changed.len(), 1);
        assert!(changed[0].children.is_empty());
        // Nothing changed after day 1.
        let later = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        assert!(Topic::changed_after(tree, later).is_empty());
    }
}
