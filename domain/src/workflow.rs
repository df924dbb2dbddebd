//! The publication workflow: draft → in_review → published → archived, and back to draft by
//! editing or restoring. A pure function of the editable version's state and the public one's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Role;
use crate::service::ServiceStatus;

/// What a write does to a service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// A full or partial update, or a rollback: always yields a draft.
    Update,
    Submit,
    Publish,
    Archive,
    Restore,
    Rollback,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Submit => "submit",
            Action::Publish => "publish",
            Action::Archive => "archive",
            Action::Restore => "restore",
            Action::Rollback => "rollback",
        }
    }

    pub fn parse(value: &str) -> Option<Action> {
        [
            Action::Create,
            Action::Update,
            Action::Submit,
            Action::Publish,
            Action::Archive,
            Action::Restore,
            Action::Rollback,
        ]
        .into_iter()
        .find(|action| action.as_str() == value)
    }

    /// The least role that may take this action (within the service's organization).
    pub fn required_role(self) -> Role {
        match self {
            Action::Create | Action::Update | Action::Submit | Action::Rollback => Role::Editor,
            Action::Publish | Action::Archive | Action::Restore => Role::Publisher,
        }
    }
}

/// A transition the workflow does not allow from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action:?} a service whose editable version is {from:?}")]
pub struct NotAllowed {
    pub action: Action,
    pub from: ServiceStatus,
}

impl NotAllowed {
    /// pt-BR, for the editor.
    pub fn message(&self) -> String {
        let from = match self.from {
            ServiceStatus::Draft => "em rascunho",
            ServiceStatus::InReview => "em revisão",
            ServiceStatus::Published => "publicado",
            ServiceStatus::Archived => "arquivado",
        };
        let action = match self.action {
            Action::Create => "criar",
            Action::Update | Action::Rollback => "editar",
            Action::Submit => "enviar para revisão",
            Action::Publish => "publicar",
            Action::Archive => "arquivar",
            Action::Restore => "restaurar",
        };
        let hint = match (self.action, self.from) {
            (Action::Publish, ServiceStatus::Draft) => " Envie-o para revisão primeiro.",
            (Action::Update | Action::Rollback, ServiceStatus::Archived) => " Restaure-o primeiro.",
            _ => "",
        };
        format!("Não é possível {action} um serviço {from}.{hint}")
    }
}

/// The editable version's state after `action`, given its state now (`working`) and the state
/// the public sees (`public`, which only publication and archiving change).
pub fn next_status(
    action: Action,
    working: ServiceStatus,
    public: ServiceStatus,
) -> Result<ServiceStatus, NotAllowed> {
    use ServiceStatus::*;
    let next = match (action, working) {
        (Action::Update | Action::Rollback, Draft | InReview | Published) => Some(Draft),
        (Action::Submit, Draft) => Some(InReview),
        (Action::Publish, InReview) => Some(Published),
        // Pending edits of a published service do not stop its archiving; they stay in the
        // revisions.
        (Action::Archive, _) if public == Published => Some(Archived),
        (Action::Restore, Archived) => Some(Draft),
        _ => None,
    };
    next.ok_or(NotAllowed {
        action,
        from: working,
    })
}

/// The state the public sees after the editable version moved to `working`.
pub fn public_status(working: ServiceStatus, public: ServiceStatus) -> ServiceStatus {
    use ServiceStatus::*;
    match (working, public) {
        (Published, _) => Published,
        (Archived, _) => Archived,
        // Until first published, the public row mirrors the editable version (and is hidden).
        (draft_or_review, Draft | InReview) => draft_or_review,
        (_, public) => public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    #[test]
    fn only_the_allowed_transitions_happen() {
        assert_eq!(next_status(Action::Submit, Draft, Draft), Ok(InReview));
        assert_eq!(
            next_status(Action::Publish, InReview, InReview),
            Ok(Published)
        );
        assert!(next_status(Action::Publish, Draft, Draft).is_err());
        assert!(next_status(Action::Submit, InReview, InReview).is_err());
        assert_eq!(
            next_status(Action::Archive, Published, Published),
            Ok(Archived)
        );
        assert_eq!(next_status(Action::Archive, Draft, Published), Ok(Archived));
        assert!(next_status(Action::Archive, Draft, Draft).is_err());
        assert_eq!(next_status(Action::Restore, Archived, Archived), Ok(Draft));
        assert!(next_status(Action::Update, Archived, Archived).is_err());
        assert_eq!(next_status(Action::Update, Published, Published), Ok(Draft));
    }

    #[test]
    fn the_public_keeps_the_published_version_while_a_new_draft_is_edited() {
        assert_eq!(public_status(Draft, Published), Published);
        assert_eq!(public_status(InReview, Draft), InReview);
        assert_eq!(public_status(Published, Published), Published);
        assert_eq!(public_status(Draft, Archived), Archived);
    }
}
