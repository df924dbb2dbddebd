//! The Lei 13.460/2017 art. 7 checklist: the eleven items of §2 (I–VI) and §3 (I–V) that every
//! Carta de Serviços entry must state. A pure function of the service and its provider.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::organization::OrganizationSummary;
use crate::service::{ServiceContent, TimeEstimateKind};

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistItem {
    /// Machine-readable code, e.g. `art7_s2_iv`.
    #[schema(example = "art7_s2_iv")]
    pub code: String,
    /// Where the law says it.
    #[schema(example = "Lei 13.460/2017, art. 7º, §2º, IV")]
    pub article: String,
    /// What the law asks for, in pt-BR.
    #[schema(example = "Previsão do prazo máximo para a prestação do serviço")]
    pub requirement: String,
    pub present: bool,
    /// Why it is present or missing, in pt-BR.
    pub reason: String,
}

/// The computed checklist of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checklist {
    /// True when all eleven items are present.
    pub complete: bool,
    /// Codes of the missing items.
    pub missing: Vec<String>,
    pub items: Vec<ChecklistItem>,
}

/// Text that says something: federal records use "." and "-" as placeholders.
pub fn is_meaningful(text: Option<&str>) -> bool {
    text.is_some_and(|text| text.chars().filter(|c| c.is_alphanumeric()).count() >= 3)
}

struct Check {
    code: &'static str,
    article: &'static str,
    requirement: &'static str,
    outcome: Result<String, String>,
}

/// Computes the checklist. `organization` supplies the ombudsman when the service names none,
/// as the federal guide says the provider answers for it.
pub fn checklist(content: &ServiceContent, organization: &OrganizationSummary) -> Checklist {
    let checks = [
        Check {
            code: "art7_s2_i",
            article: "Lei 13.460/2017, art. 7º, §2º, I",
            requirement: "Serviços oferecidos",
            outcome: if is_meaningful(Some(&content.description)) {
                Ok("Descrição do serviço informada.".into())
            } else {
                Err("Falta a descrição do que o serviço oferece.".into())
            },
        },
        Check {
            code: "art7_s2_ii",
            article: "Lei 13.460/2017, art. 7º, §2º, II",
            requirement: "Requisitos, documentos, formas e informações necessárias para acessar o serviço",
            outcome: requirements(content),
        },
        Check {
            code: "art7_s2_iii",
            article: "Lei 13.460/2017, art. 7º, §2º, III",
            requirement: "Principais etapas para processamento do serviço",
            outcome: if content.steps.is_empty() {
                Err("Nenhuma etapa informada.".into())
            } else if content.steps.iter().any(|step| !is_meaningful(Some(&step.title))) {
                Err("Há etapa sem título.".into())
            } else {
                Ok(format!("{} etapa(s) informada(s).", content.steps.len()))
            },
        },
        Check {
            code: "art7_s2_iv",
            article: "Lei 13.460/2017, art. 7º, §2º, IV",
            requirement: "Previsão do prazo máximo para a prestação do serviço",
            outcome: deadline(content),
        },
        Check {
            code: "art7_s2_v",
            article: "Lei 13.460/2017, art. 7º, §2º, V",
            requirement: "Forma de prestação do serviço",
            outcome: {
                let types = content.channel_types();
                if types.is_empty() {
                    Err("Nenhum canal de prestação informado nas etapas.".into())
                } else {
                    let labels: Vec<&str> = types.iter().map(|t| t.label()).collect();
                    Ok(format!("Canais: {}.", labels.join(", ")))
                }
            },
        },
        Check {
            code: "art7_s2_vi",
            article: "Lei 13.460/2017, art. 7º, §2º, VI",
            requirement: "Locais e formas para o usuário apresentar eventual manifestação sobre a prestação do serviço",
            outcome: complaint_place(content, organization),
        },
        Check {
            code: "art7_s3_i",
            article: "Lei 13.460/2017, art. 7º, §3º, I",
            requirement: "Prioridades de atendimento",
            outcome: text_item(
                content.priority_treatment.as_deref(),
                "Tratamento prioritário informado.",
                "Falta informar quem tem prioridade no atendimento.",
            ),
        },
        Check {
            code: "art7_s3_ii",
            article: "Lei 13.460/2017, art. 7º, §3º, II",
            requirement: "Previsão de tempo de espera para o atendimento",
            outcome: waiting_time(content),
        },
        Check {
            code: "art7_s3_iii",
            article: "Lei 13.460/2017, art. 7º, §3º, III",
            requirement: "Mecanismos de comunicação com os usuários",
            outcome: text_item(
                content.contact.as_deref(),
                "Contato informado.",
                "Falta informar como o usuário se comunica com o órgão (contato).",
            ),
        },
        Check {
            code: "art7_s3_iv",
            article: "Lei 13.460/2017, art. 7º, §3º, IV",
            requirement: "Procedimentos para receber e responder as manifestações dos usuários",
            outcome: text_item(
                content.complaints.as_ref().and_then(|c| c.procedure.as_deref()),
                "Procedimento de recebimento e resposta de manifestações informado.",
                "Falta informar como as manifestações são recebidas e respondidas, e em que prazo.",
            ),
        },
        Check {
            code: "art7_s3_v",
            article: "Lei 13.460/2017, art. 7º, §3º, V",
            requirement: "Mecanismos de consulta, por parte dos usuários, acerca do andamento do serviço solicitado e de eventual manifestação",
            outcome: match &content.request_tracking {
                Some(tracking)
                    if is_meaningful(tracking.url.as_deref())
                        || is_meaningful(tracking.instructions.as_deref()) =>
                {
                    Ok("Consulta do andamento informada.".into())
                }
                _ => Err("Falta informar como consultar o andamento da solicitação.".into()),
            },
        },
    ];

    let items: Vec<ChecklistItem> = checks
        .into_iter()
        .map(|check| {
            let (present, reason) = match check.outcome {
                Ok(reason) => (true, reason),
                Err(reason) => (false, reason),
            };
            ChecklistItem {
                code: check.code.to_owned(),
                article: check.article.to_owned(),
                requirement: check.requirement.to_owned(),
                present,
                reason,
            }
        })
        .collect();
    let missing: Vec<String> = items
        .iter()
        .filter(|item| !item.present)
        .map(|item| item.code.clone())
        .collect();
    Checklist {
        complete: missing.is_empty(),
        missing,
        items,
    }
}

/// Keywords the federal editor requires before publication.
pub const MIN_KEYWORDS: usize = 3;

/// What stops a service from being published: the checklist's missing items, then the federal
/// editor's own rules. Empty when it may be published.
pub fn publication_blockers(
    content: &ServiceContent,
    organization: &OrganizationSummary,
) -> Vec<ChecklistItem> {
    let mut blockers: Vec<ChecklistItem> = checklist(content, organization)
        .items
        .into_iter()
        .filter(|item| !item.present)
        .collect();
    let keywords = content
        .keywords
        .iter()
        .filter(|k| !k.trim().is_empty())
        .count();
    if keywords < MIN_KEYWORDS {
        blockers.push(ChecklistItem {
            code: "min_keywords".into(),
            article: "Guia de edição da Carta de Serviços (gov.br)".into(),
            requirement: format!("Pelo menos {MIN_KEYWORDS} palavras-chave"),
            present: false,
            reason: format!("{keywords} palavra(s)-chave informada(s); o mínimo é {MIN_KEYWORDS}."),
        });
    }
    blockers
}

fn text_item(text: Option<&str>, present: &str, missing: &str) -> Result<String, String> {
    if is_meaningful(text) {
        Ok(present.to_owned())
    } else if text.is_some_and(|t| !t.trim().is_empty()) {
        Err(format!("{missing} O texto atual é só um marcador."))
    } else {
        Err(missing.to_owned())
    }
}

fn requirements(content: &ServiceContent) -> Result<String, String> {
    let requesters = content
        .requesters
        .iter()
        .filter(|r| is_meaningful(Some(&r.kind)))
        .count();
    if requesters == 0 {
        return Err("Falta informar quem pode solicitar o serviço.".into());
    }
    let documents: usize = content
        .steps
        .iter()
        .map(|step| step.documents.iter().count())
        .sum();
    let stated_requirements = content
        .requesters
        .iter()
        .any(|r| is_meaningful(r.requirements.as_deref()));
    if documents == 0 && !stated_requirements {
        return Err(
            "Faltam os documentos ou requisitos necessários (nenhum documento nas etapas nem requisito do solicitante)."
                .into(),
        );
    }
    Ok(format!(
        "{requesters} tipo(s) de solicitante e {documents} documento(s) informados."
    ))
}

fn deadline(content: &ServiceContent) -> Result<String, String> {
    let estimate = &content.time_estimate;
    if estimate.states_maximum() {
        return Ok(match estimate.kind {
            TimeEstimateKind::Immediate => "Atendimento imediato.".into(),
            _ => "Prazo máximo informado.".into(),
        });
    }
    Err(match estimate.kind {
        TimeEstimateKind::OnAverage => {
            "O tempo informado é médio; a lei pede o prazo máximo.".into()
        }
        TimeEstimateKind::NotEstimated => "Prazo ainda não estimado.".into(),
        _ => "Prazo sem valor máximo ou sem unidade.".into(),
    })
}

fn complaint_place(
    content: &ServiceContent,
    organization: &OrganizationSummary,
) -> Result<String, String> {
    let own = content.complaints.as_ref().is_some_and(|c| {
        is_meaningful(c.url.as_deref()) || is_meaningful(c.instructions.as_deref())
    });
    if own {
        Ok("Canal de manifestação do serviço informado.".into())
    } else if is_meaningful(organization.ombudsman_url.as_deref()) {
        Ok(format!(
            "Manifestações pela ouvidoria do órgão responsável ({}).",
            organization
                .acronym
                .as_deref()
                .unwrap_or(&organization.name)
        ))
    } else {
        Err(
            "Falta informar onde apresentar manifestações, e o órgão não tem ouvidoria cadastrada."
                .into(),
        )
    }
}

fn waiting_time(content: &ServiceContent) -> Result<String, String> {
    let stated = |estimate: &crate::service::TimeEstimate| {
        !matches!(estimate.kind, TimeEstimateKind::NotEstimated)
    };
    if content.waiting_time.as_ref().is_some_and(stated) {
        return Ok("Tempo de espera do serviço informado.".into());
    }
    let per_channel = content
        .steps
        .iter()
        .flat_map(|step| step.channels.iter())
        .filter_map(|channel| channel.waiting_time.as_ref())
        .any(stated);
    if per_channel {
        Ok("Tempo de espera informado por canal.".into())
    } else {
        Err("Falta a previsão de tempo de espera para o atendimento.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organization::Sphere;
    use crate::service::*;
    use crate::taxonomy::ChannelTypeCode;
    use uuid::Uuid;

    fn org(ombudsman: Option<&str>) -> OrganizationSummary {
        OrganizationSummary {
            id: Uuid::nil(),
            slug: "detran-mt".into(),
            name: "Departamento Estadual de Trânsito".into(),
            acronym: Some("DETRAN-MT".into()),
            sphere: Sphere::State,
            ombudsman_url: ombudsman.map(str::to_owned),
        }
    }

    fn complete() -> ServiceContent {
        ServiceContent {
            name: "Emitir segunda via da CNH".into(),
            description: "Emissão da segunda via da Carteira Nacional de Habilitação.".into(),
            requesters: vec![Requester {
                kind: "Condutores habilitados".into(),
                requirements: None,
            }],
            steps: vec![Step {
                title: "Solicitar a segunda via".into(),
                description: None,
                documents: Variants {
                    default: vec![Document {
                        name: "Documento de identidade".into(),
                        where_to_get: None,
                        notes: None,
                    }],
                    cases: vec![],
                },
                costs: Variants::default(),
                channels: Variants {
                    default: vec![Channel {
                        channel_type: ChannelTypeCode::Web,
                        description: "https://www.detran.mt.gov.br".into(),
                        unavailable_procedure: None,
                        waiting_time: None,
                        location_ids: vec![],
                    }],
                    cases: vec![],
                },
                time_estimate: None,
            }],
            time_estimate: TimeEstimate {
                kind: TimeEstimateKind::UpTo,
                min: None,
                max: Some(10),
                unit: Some(TimeUnit::BusinessDays),
                description: None,
            },
            priority_treatment: Some("Idosos, gestantes e pessoas com deficiência.".into()),
            waiting_time: Some(TimeEstimate {
                kind: TimeEstimateKind::UpTo,
                min: None,
                max: Some(30),
                unit: Some(TimeUnit::Minutes),
                description: None,
            }),
            contact: Some("Telefone 154".into()),
            complaints: Some(ComplaintChannel {
                url: None,
                instructions: None,
                procedure: Some("Resposta em até 30 dias pela Ouvidoria-Geral.".into()),
            }),
            request_tracking: Some(Pointer {
                url: Some("https://www.detran.mt.gov.br/consulta".into()),
                instructions: None,
            }),
            ..ServiceContent::default()
        }
    }

    #[test]
    fn a_complete_service_passes_all_eleven_items() {
        let list = checklist(&complete(), &org(Some("https://ouvidoria.mt.gov.br")));
        assert_eq!(list.items.len(), 11);
        assert!(list.complete, "{:?}", list.missing);
    }

    #[test]
    fn the_ombudsman_of_the_provider_covers_the_complaint_place() {
        let list = checklist(&complete(), &org(None));
        assert_eq!(list.missing, vec!["art7_s2_vi"]);
    }

    #[test]
    fn placeholders_and_averages_are_reported_as_missing_with_reasons() {
        let mut content = complete();
        content.priority_treatment = Some(".".into());
        content.time_estimate.kind = TimeEstimateKind::OnAverage;
        content.steps.clear();
        let list = checklist(&content, &org(Some("https://ouvidoria.mt.gov.br")));
        assert_eq!(
            list.missing,
            vec![
                "art7_s2_ii",
                "art7_s2_iii",
                "art7_s2_iv",
                "art7_s2_v",
                "art7_s3_i"
            ]
        );
        let priority = list.items.iter().find(|i| i.code == "art7_s3_i");
        assert!(priority.is_some_and(|i| i.reason.contains("marcador")));
    }
}
