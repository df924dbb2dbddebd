//! The sample catalogue that `carta seed` loads: Mato Grosso providers, topics, life events,
//! service units, services and the IBGE municipalities, embedded in the binary from `seed/`.

use domain::organization::OrganizationDraft;
use domain::place::{GeoPoint, LocationDraft, Municipality};
use domain::service::ServiceDraft;
use domain::taxonomy::{LifeEventDraft, TopicDraft};
use serde::de::DeserializeOwned;

const ORGANIZATIONS: &str = include_str!("../seed/organizations.json");
const TOPICS: &str = include_str!("../seed/topics.json");
const LIFE_EVENTS: &str = include_str!("../seed/life_events.json");
const LOCATIONS: &str = include_str!("../seed/locations.json");
const SERVICES: &str = include_str!("../seed/services.json");
const MUNICIPALITIES: &str = include_str!("../seed/municipios.csv");

/// The header `municipios.csv` must start with.
const MUNICIPALITIES_HEADER: &str = "ibge_code,name,state,lat,lon,is_capital";

/// Everything `carta seed` stores, parsed.
#[derive(Debug, Clone)]
pub struct SeedData {
    pub organizations: Vec<OrganizationDraft>,
    pub topics: Vec<TopicDraft>,
    pub life_events: Vec<LifeEventDraft>,
    pub locations: Vec<LocationDraft>,
    pub services: Vec<ServiceDraft>,
    pub municipalities: Vec<Municipality>,
}

/// A seed file that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum SeedDataError {
    #[error("seed file {file} is invalid: {source}")]
    Json {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("seed file {file}, line {line}: {message}")]
    Csv {
        file: &'static str,
        line: usize,
        message: String,
    },
}

/// Parses the embedded seed files.
pub fn load() -> Result<SeedData, SeedDataError> {
    Ok(SeedData {
        organizations: json("organizations.json", ORGANIZATIONS)?,
        topics: json("topics.json", TOPICS)?,
        life_events: json("life_events.json", LIFE_EVENTS)?,
        locations: json("locations.json", LOCATIONS)?,
        services: json("services.json", SERVICES)?,
        municipalities: municipalities(MUNICIPALITIES)?,
    })
}

fn json<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, SeedDataError> {
    serde_json::from_str(text).map_err(|source| SeedDataError::Json { file, source })
}

/// Parses `municipios.csv`: a header, then `ibge_code,name,state,lat,lon,is_capital` rows. No field
/// holds a comma or quotes, so a plain split is enough.
fn municipalities(text: &str) -> Result<Vec<Municipality>, SeedDataError> {
    const FILE: &str = "municipios.csv";
    let error = |line: usize, message: String| SeedDataError::Csv {
        file: FILE,
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if header.trim_start_matches('\u{feff}').trim() == MUNICIPALITIES_HEADER => {}
        _ => {
            return Err(error(
                1,
                format!("the header must be `{MUNICIPALITIES_HEADER}`"),
            ))
        }
    }
    let mut rows = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [code, name, state, lat, lon, capital] = fields[..] else {
            return Err(error(
                number,
                format!("expected 6 fields, found {}", fields.len()),
            ));
        };
        let ibge_code: i32 = code
            .parse()
            .map_err(|_| error(number, format!("invalid IBGE code `{code}`")))?;
        let coordinate = |value: &str, what: &str| {
            value
                .parse::<f64>()
                .map_err(|_| error(number, format!("invalid {what} `{value}`")))
        };
        let point = GeoPoint {
            lat: coordinate(lat, "latitude")?,
            lon: coordinate(lon, "longitude")?,
        };
        let is_capital = match capital {
            "1" => true,
            "0" => false,
            other => {
                return Err(error(
                    number,
                    format!("is_capital must be 0 or 1, found `{other}`"),
                ))
            }
        };
        if name.is_empty() || state.len() != 2 {
            return Err(error(number, "empty name or invalid state".to_owned()));
        }
        rows.push(Municipality {
            ibge_code,
            name: name.to_owned(),
            state: state.to_owned(),
            point,
            is_capital,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::{HashMap, HashSet};

    use domain::checklist::checklist;
    use domain::organization::OrganizationSummary;
    use domain::service::ServiceStatus;
    use domain::validation::{is_valid_slug, validate_service};
    use uuid::Uuid;

    use super::*;

    fn seed() -> SeedData {
        load().expect("the seed files parse")
    }

    fn summary(org: &OrganizationDraft) -> OrganizationSummary {
        OrganizationSummary {
            id: Uuid::nil(),
            slug: org.slug.clone(),
            name: org.name.clone(),
            acronym: org.acronym.clone(),
            sphere: org.sphere,
            ombudsman_url: org.ombudsman_url.clone(),
        }
    }

    fn unique<'a>(what: &str, values: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for value in values {
            assert!(is_valid_slug(value), "{what}: invalid slug {value}");
            assert!(seen.insert(value), "{what}: duplicate slug {value}");
        }
        seen
    }

    #[test]
    fn everything_parses_with_enough_services_and_providers() {
        let data = seed();
        assert!(data.organizations.len() >= 14);
        assert!(data.locations.len() >= 12);
        assert!(data.services.len() >= 45, "{}", data.services.len());
        let providers: HashSet<&str> = data
            .services
            .iter()
            .map(|s| s.form.organization.as_str())
            .collect();
        assert!(providers.len() >= 12, "{}", providers.len());
        for status in ServiceStatus::ALL {
            assert!(
                data.services.iter().any(|s| s.status == status),
                "no {status:?} service"
            );
        }
        assert!(data.services.iter().all(|s| s.source.is_none()));
    }

    #[test]
    fn every_service_is_valid() {
        for service in seed().services {
            assert_eq!(
                validate_service(&service.form),
                Ok(()),
                "{}",
                service.form.slug
            );
        }
    }

    #[test]
    fn municipalities_cover_brazil_and_mato_grosso() {
        let data = seed();
        assert!(data.municipalities.len() >= 5570);
        let codes: HashSet<i32> = data.municipalities.iter().map(|m| m.ibge_code).collect();
        assert_eq!(
            codes.len(),
            data.municipalities.len(),
            "duplicate IBGE codes"
        );
        assert!(data
            .municipalities
            .windows(2)
            .all(|pair| pair[0].ibge_code < pair[1].ibge_code));
        let mt: Vec<&Municipality> = data
            .municipalities
            .iter()
            .filter(|m| m.state == "MT")
            .collect();
        assert_eq!(mt.len(), 142);
        assert!(mt.iter().all(|m| m.ibge_code / 100_000 == 51));
        let capitals: Vec<&str> = mt
            .iter()
            .filter(|m| m.is_capital)
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(capitals, ["Cuiabá"]);
        assert_eq!(
            data.municipalities.iter().filter(|m| m.is_capital).count(),
            27
        );
    }

    #[test]
    fn every_reference_resolves() {
        let data = seed();
        let orgs = unique(
            "organizations",
            data.organizations.iter().map(|o| o.slug.as_str()),
        );
        for org in &data.organizations {
            if let Some(parent) = &org.parent {
                assert!(
                    orgs.contains(parent.as_str()),
                    "{}: parent {parent}",
                    org.slug
                );
            }
        }
        let municipalities: HashMap<i32, &Municipality> = data
            .municipalities
            .iter()
            .map(|m| (m.ibge_code, m))
            .collect();
        for org in &data.organizations {
            if let Some(code) = org.codes.ibge {
                assert!(municipalities.contains_key(&code), "{}: {code}", org.slug);
            }
        }

        let mut topics = HashSet::new();
        for topic in &data.topics {
            assert!(is_valid_slug(&topic.slug), "topic {}", topic.slug);
            if let Some(parent) = &topic.parent {
                assert!(
                    topics.contains(parent.as_str()),
                    "topic {}: parent {parent} must come first",
                    topic.slug
                );
            }
            assert!(
                topics.insert(topic.slug.as_str()),
                "duplicate topic {}",
                topic.slug
            );
        }
        let life_events = unique(
            "life events",
            data.life_events.iter().map(|l| l.slug.as_str()),
        );

        let mut locations = HashSet::new();
        for location in &data.locations {
            assert!(
                locations.insert(location.id),
                "duplicate location {}",
                location.id
            );
            assert!(
                orgs.contains(location.organization.as_str()),
                "{}: organization {}",
                location.name,
                location.organization
            );
            let municipality = municipalities
                .get(&location.municipality)
                .unwrap_or_else(|| {
                    panic!("{}: municipality {}", location.name, location.municipality)
                });
            let point = location.point.expect("every seed location has a point");
            assert!(
                (point.lat - municipality.point.lat).abs() < 0.1
                    && (point.lon - municipality.point.lon).abs() < 0.1,
                "{} is far from {}",
                location.name,
                municipality.name
            );
        }

        let services = unique(
            "services",
            data.services.iter().map(|s| s.form.slug.as_str()),
        );
        for service in &data.services {
            let slug = &service.form.slug;
            assert!(
                orgs.contains(service.form.organization.as_str()),
                "{slug}: organization"
            );
            for topic in &service.form.topics {
                assert!(topics.contains(topic.as_str()), "{slug}: topic {topic}");
            }
            for event in &service.form.life_events {
                assert!(
                    life_events.contains(event.as_str()),
                    "{slug}: life event {event}"
                );
            }
            for related in &service.form.related_services {
                assert!(
                    services.contains(related.as_str()),
                    "{slug}: related {related}"
                );
                assert_ne!(related, slug, "{slug} relates to itself");
            }
            for code in &service.form.municipalities {
                assert!(
                    municipalities.contains_key(code),
                    "{slug}: municipality {code}"
                );
            }
            for id in &service.form.locations {
                assert!(locations.contains(id), "{slug}: location {id}");
            }
            let channel_locations = service
                .form
                .content
                .steps
                .iter()
                .flat_map(|step| step.channels.iter())
                .flat_map(|channel| channel.location_ids.iter());
            for id in channel_locations {
                assert!(
                    service.form.locations.contains(id),
                    "{slug}: channel location {id}"
                );
            }
        }
    }

    #[test]
    fn published_services_mix_complete_and_incomplete_checklists() {
        let data = seed();
        let orgs: HashMap<&str, OrganizationSummary> = data
            .organizations
            .iter()
            .map(|o| (o.slug.as_str(), summary(o)))
            .collect();
        let (mut complete, mut incomplete) = (0, 0);
        for service in data
            .services
            .iter()
            .filter(|s| s.status == ServiceStatus::Published)
        {
            let content = &service.form.content;
            assert!(
                content.keywords.len() >= 3,
                "{}: keywords",
                service.form.slug
            );
            assert!(
                !content.popular_names.is_empty(),
                "{}: popular names",
                service.form.slug
            );
            assert!(
                !content.legal_basis.is_empty(),
                "{}: legal basis",
                service.form.slug
            );
            assert!(
                !content.requesters.is_empty(),
                "{}: requesters",
                service.form.slug
            );
            assert!(
                (1..=4).contains(&content.steps.len()),
                "{}: steps",
                service.form.slug
            );
            if checklist(content, &orgs[service.form.organization.as_str()]).complete {
                complete += 1;
            } else {
                incomplete += 1;
            }
        }
        assert!(complete >= 25, "{complete} complete");
        assert!(incomplete >= 5, "{incomplete} incomplete");
    }
}
