//! Providers of services: any sphere, branch, municipality or private company.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Sphere of the provider (esfera).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sphere {
    Federal,
    State,
    Municipal,
    Private,
}

/// Branch of government (poder), or none for private providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    Executive,
    Legislative,
    Judiciary,
    PublicProsecution,
    PublicDefender,
    AuditCourt,
    None,
}

/// Legal nature of the provider (natureza).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// Secretariats and other bodies of direct administration.
    DirectAdministration,
    Autarchy,
    Foundation,
    PublicCompany,
    MixedCapitalCompany,
    /// A city hall or municipal body.
    Municipality,
    /// A private company operating a public service under concession.
    Concessionaire,
    PrivateCompany,
    /// Multi-agency service points such as Ganha Tempo.
    ServiceHub,
    Other,
}

macro_rules! codes {
    ($name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        impl $name {
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

codes!(Sphere { Federal = "federal", State = "state", Municipal = "municipal", Private = "private" });
codes!(Branch {
    Executive = "executive",
    Legislative = "legislative",
    Judiciary = "judiciary",
    PublicProsecution = "public_prosecution",
    PublicDefender = "public_defender",
    AuditCourt = "audit_court",
    None = "none",
});
codes!(OrganizationKind {
    DirectAdministration = "direct_administration",
    Autarchy = "autarchy",
    Foundation = "foundation",
    PublicCompany = "public_company",
    MixedCapitalCompany = "mixed_capital_company",
    Municipality = "municipality",
    Concessionaire = "concessionaire",
    PrivateCompany = "private_company",
    ServiceHub = "service_hub",
    Other = "other",
});

/// External identifiers of a provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ExternalCodes {
    /// Federal SIORG unit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siorg: Option<String>,
    /// IBGE code of the municipality, for municipal providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ibge: Option<i32>,
    /// 14-digit CNPJ, digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnpj: Option<String>,
}

/// An organization to be stored; `parent` is the parent's slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationDraft {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    pub kind: OrganizationKind,
    pub sphere: Sphere,
    pub branch: Branch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub codes: ExternalCodes,
    /// Markdown: responsibilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Markdown: site, phone, address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Where manifestações about its services are received (Lei 13.460 art. 7 §2 VI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ombudsman_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How a service or list item names its provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    pub sphere: Sphere,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ombudsman_url: Option<String>,
}

/// The full organization as the public reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    pub kind: OrganizationKind,
    pub sphere: Sphere,
    pub branch: Branch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrganizationSummary>,
    pub codes: ExternalCodes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ombudsman_url: Option<String>,
    /// Published services it provides.
    pub service_count: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
