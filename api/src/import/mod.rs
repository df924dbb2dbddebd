//! Importers of partner catalogues. Parsing is pure (`govbr_xml`); this module reads files and
//! stores records one transaction each, reporting what it could not map.

pub mod govbr_feed;
pub mod govbr_xml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use diesel_async::AsyncPgConnection;
use persistence::writes::{self, Outcome};
use persistence::StoreError;
use uuid::Uuid;

use domain::service::ServiceForm;
use domain::validation::{validate_service, FieldError, RESERVED_SERVICE_SLUGS};

use self::govbr_xml::Unmapped;

/// What an import did, file by file.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub files: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Files that could not be imported, with why.
    pub failed: Vec<(String, String)>,
    /// Fields that could not be mapped, by file.
    pub unmapped: Vec<(String, Unmapped)>,
    /// Rules a record breaks; it is imported as its source published it, and reported.
    pub invalid: Vec<(String, FieldError)>,
    pub organ_pages: usize,
    /// Related services naming a federal id absent from the corpus.
    pub unresolved_related: usize,
}

impl ImportReport {
    /// A human-readable report, one line per problem, then the totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (file, reason) in &self.failed {
            out.push_str(&format!("FAILED   {file}: {reason}\n"));
        }
        for (file, error) in &self.invalid {
            out.push_str(&format!(
                "INVALID  {file}: {} {}\n",
                error.pointer, error.message
            ));
        }
        for (file, unmapped) in &self.unmapped {
            out.push_str(&format!(
                "UNMAPPED {file}: {} ({})\n",
                unmapped.path, unmapped.reason
            ));
        }
        out.push_str(&format!(
            "{} files: {} created, {} updated, {} unchanged, {} failed; {} unmapped fields; \
             {} rule violations; {} organ pages; {} related services not in the corpus\n",
            self.files,
            self.created,
            self.updated,
            self.unchanged,
            self.failed.len(),
            self.unmapped.len(),
            self.invalid.len(),
            self.organ_pages,
            self.unresolved_related,
        ));
        out
    }
}

/// The rules `form` breaks, for the report: the record is imported all the same, as its source
/// published it. Its slug is only wished for: saving picks a free one, never one the API keeps
/// for itself.
fn rule_violations(label: &str, form: &ServiceForm) -> Vec<(String, FieldError)> {
    let reserved = RESERVED_SERVICE_SLUGS.contains(&form.slug.as_str());
    validate_service(form)
        .err()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !(reserved && e.pointer == "/slug"))
        .map(|e| (label.to_owned(), e))
        .collect()
}

fn xml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    files.sort();
    Ok(files)
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports a federal schema-v3 corpus: `dir` is either its root (with `cartas-servico/v3/servicos`
/// and `conteudo/orgaos`) or a folder of service files. Idempotent: records are matched by source
/// and external id, and unchanged ones are not written.
pub async fn import_govbr_xml(
    conn: &mut AsyncPgConnection,
    dir: &Path,
) -> Result<ImportReport, ImportError> {
    let nested = dir.join("cartas-servico").join("v3").join("servicos");
    let services_dir = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    let organs_dir = dir.join("conteudo").join("orgaos");
    let files = xml_files(&services_dir)
        .map_err(|e| ImportError::Io(services_dir.display().to_string(), e))?;

    let mut report = ImportReport {
        files: files.len(),
        ..ImportReport::default()
    };
    let mut parsed = Vec::with_capacity(files.len());
    for path in &files {
        let label = file_label(path);
        let xml = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                report.failed.push((label, e.to_string()));
                continue;
            }
        };
        match govbr_xml::parse_service_file(&xml, &label) {
            Ok(mut service) => {
                // The file name is the record's stable key: ids repeat in the real corpus.
                let stem = label.trim_end_matches(".xml").to_owned();
                if let Some(source) = service.draft.source.as_mut() {
                    source.external_id = stem;
                }
                parsed.push((label, service));
            }
            Err(e) => report.failed.push((label, e.to_string())),
        }
    }

    // Federal ids name related services; the real corpus repeats some, and the first file wins.
    let mut federal_ids: HashMap<i64, Uuid> = HashMap::new();
    let mut stored: Vec<(String, Uuid, Vec<i64>)> = Vec::with_capacity(parsed.len());
    for (label, service) in parsed {
        report
            .invalid
            .extend(rule_violations(&label, &service.draft.form));
        match writes::save_imported_service(
            conn,
            &service.organization,
            &service.topics,
            &service.draft,
        )
        .await
        {
            Ok(saved) => {
                match saved.outcome {
                    Outcome::Created => report.created += 1,
                    Outcome::Updated => report.updated += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                }
                if let Some(federal_id) = service.federal_id {
                    federal_ids.entry(federal_id).or_insert(saved.id);
                }
                stored.push((label.clone(), saved.id, service.related_federal_ids));
                report
                    .unmapped
                    .extend(service.unmapped.into_iter().map(|u| (label.clone(), u)));
            }
            Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e).into()),
            Err(e) => report.failed.push((label, e.to_string())),
        }
    }

    for (label, id, related) in stored {
        let ids: Vec<Uuid> = related
            .iter()
            .filter_map(|federal_id| {
                let found = federal_ids.get(federal_id).copied();
                if found.is_none() {
                    report.unresolved_related += 1;
                }
                found
            })
            .collect();
        match writes::save_related_service_ids(conn, id, &ids).await {
            Ok(()) => {}
            Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e).into()),
            Err(e) => report
                .failed
                .push((label, format!("related services: {e}"))),
        }
    }

    if organs_dir.is_dir() {
        let pages = xml_files(&organs_dir)
            .map_err(|e| ImportError::Io(organs_dir.display().to_string(), e))?;
        for path in pages {
            let label = format!("conteudo/orgaos/{}", file_label(&path));
            let xml = match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => {
                    report.failed.push((label, e.to_string()));
                    continue;
                }
            };
            match govbr_xml::parse_organ_page(&xml) {
                Ok(page) => {
                    let saved =
                        writes::save_federated_organization(conn, &page.organization, true).await;
                    match saved {
                        Ok(_) => report.organ_pages += 1,
                        Err(StoreError::Unavailable(e)) => {
                            return Err(StoreError::Unavailable(e).into())
                        }
                        Err(e) => {
                            report.failed.push((label, e.to_string()));
                            continue;
                        }
                    }
                    report
                        .unmapped
                        .extend(page.unmapped.into_iter().map(|u| (label.clone(), u)));
                }
                Err(e) => report.failed.push((label, e.to_string())),
            }
        }
    }
    Ok(report)
}
