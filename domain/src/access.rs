//! Who may do what: roles, the caller's organization scope, and the one check every write makes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Roles, each including the powers of those below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Partners: may read unpublished services of their organizations.
    Reader,
    /// Creates and edits drafts of their organizations' services.
    Editor,
    /// Also publishes and archives their organizations' services.
    Publisher,
    /// The platform: organizations, taxonomies, clients, everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Reader, Role::Editor, Role::Publisher, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Publisher => "publisher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

/// The authenticated caller, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject: a client id or a person's id at the identity provider.
    pub subject: String,
    /// The identity provider that vouches for the subject; `None` for Carta's own tokens.
    pub issuer: Option<String>,
    /// The OAuth client, when the token was issued to one.
    pub client_id: Option<String>,
    pub role: Role,
    /// Organizations the caller acts for; an admin acts for all.
    pub organizations: Vec<Uuid>,
}

/// Why a caller may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("requires the {required:?} role")]
    Role { required: Role },
    #[error("outside the caller's organizations")]
    Scope,
}

impl Denied {
    /// pt-BR, for the caller.
    pub fn message(&self) -> String {
        match self {
            Denied::Role { required } => {
                format!("Esta ação exige o papel `{}`.", required.as_str())
            }
            Denied::Scope => "Esta ação está fora dos órgãos que você representa.".into(),
        }
    }
}

impl Principal {
    /// Who owns what this caller creates for itself (webhook subscriptions): two identity
    /// providers may both have a subject "42", and they are different people.
    pub fn owner_key(&self) -> String {
        match &self.issuer {
            None => self.subject.clone(),
            Some(issuer) => format!("{issuer}#{}", self.subject),
        }
    }

    /// Requires `role` (or a higher one), and, unless the caller is an admin, that `organization`
    /// is one of the caller's. `None` means a platform-wide action.
    pub fn require(&self, role: Role, organization: Option<Uuid>) -> Result<(), Denied> {
        if self.role < role {
            return Err(Denied::Role { required: role });
        }
        if self.role == Role::Admin {
            return Ok(());
        }
        match organization {
            Some(organization) if self.organizations.contains(&organization) => Ok(()),
            _ => Err(Denied::Scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, organizations: Vec<Uuid>) -> Principal {
        Principal {
            subject: "s".into(),
            issuer: None,
            client_id: None,
            role,
            organizations,
        }
    }

    #[test]
    fn roles_include_the_ones_below_and_scope_binds_all_but_admins() {
        let own = Uuid::new_v4();
        let other = Uuid::new_v4();
        let editor = caller(Role::Editor, vec![own]);
        assert_eq!(editor.require(Role::Reader, Some(own)), Ok(()));
        assert_eq!(editor.require(Role::Editor, Some(own)), Ok(()));
        assert_eq!(
            editor.require(Role::Publisher, Some(own)),
            Err(Denied::Role {
                required: Role::Publisher
            })
        );
        assert_eq!(
            editor.require(Role::Editor, Some(other)),
            Err(Denied::Scope)
        );
        assert_eq!(editor.require(Role::Editor, None), Err(Denied::Scope));
        let admin = caller(Role::Admin, vec![]);
        assert_eq!(admin.require(Role::Admin, Some(other)), Ok(()));
        assert_eq!(admin.require(Role::Admin, None), Ok(()));
    }
}
