//! Rules of the reference data as admins and agencies write it: organizations, topics, life
//! events, municipalities and service units. Like a service's rules, every problem is reported at
//! once with a JSON pointer and a pt-BR message. References to other records (a parent, a
//! municipality, an organization) and uniqueness are checked by the storage, which knows them.

use crate::organization::OrganizationDraft;
use crate::place::{GeoPoint, LocationDraft, Municipality};
use crate::taxonomy::{LifeEventDraft, TopicDraft};
use crate::validation::{
    is_valid_slug, Errors, FieldError, DESCRIPTION_MAX, LONG_TEXT_MAX, NAME_MAX, SHORT_TEXT_MAX,
};

/// The database's limits for organizations.
pub const ORGANIZATION_NAME_MAX: usize = 300;
pub const ORGANIZATION_ACRONYM_MAX: usize = 30;
/// Service units' names (the database's limit).
pub const LOCATION_NAME_MAX: usize = 200;
pub const URL_MAX: usize = 500;
pub const PHONE_MAX: usize = 50;
pub const EMAIL_MAX: usize = 254;
/// SIORG unit codes are numbers of at most this many digits.
pub const SIORG_MAX: usize = 20;

/// The 27 federative units and the first two digits of their municipalities' IBGE codes.
pub const STATES: [(&str, i32); 27] = [
    ("RO", 11),
    ("AC", 12),
    ("AM", 13),
    ("RR", 14),
    ("PA", 15),
    ("AP", 16),
    ("TO", 17),
    ("MA", 21),
    ("PI", 22),
    ("CE", 23),
    ("RN", 24),
    ("PB", 25),
    ("PE", 26),
    ("AL", 27),
    ("SE", 28),
    ("BA", 29),
    ("MG", 31),
    ("ES", 32),
    ("RJ", 33),
    ("SP", 35),
    ("PR", 41),
    ("SC", 42),
    ("RS", 43),
    ("MS", 50),
    ("MT", 51),
    ("GO", 52),
    ("DF", 53),
];

/// Whether an IBGE municipality code has 7 digits.
pub fn is_ibge_code(code: i32) -> bool {
    (1_000_000..=9_999_999).contains(&code)
}

fn slug(errors: &mut Errors, pointer: &str, value: &str) {
    if !is_valid_slug(value) {
        errors.add(
            pointer,
            "invalid",
            "O identificador (slug) deve ter só letras minúsculas sem acento, números e hifens.",
        );
    }
}

/// A reference to another record by slug: same format; naming oneself is refused here, unknown
/// slugs by the storage.
fn parent_slug(errors: &mut Errors, own: &str, parent: Option<&str>, what: &str) {
    let Some(parent) = parent else { return };
    if !is_valid_slug(parent) {
        errors.add(
            "/parent",
            "invalid",
            format!("{what} superior não é um slug válido."),
        );
    } else if parent == own {
        errors.add(
            "/parent",
            "invalid",
            format!("{what} não pode estar abaixo de si mesmo."),
        );
    }
}

fn name(errors: &mut Errors, value: &str, max: usize) {
    errors.required("/name", value, "O nome");
    errors.max_chars("/name", value, max, "O nome");
}

fn optional_text(errors: &mut Errors, pointer: &str, value: Option<&str>, max: usize, what: &str) {
    if let Some(value) = value {
        errors.required(pointer, value, what);
        errors.max_chars(pointer, value, max, what);
    }
}

fn url(errors: &mut Errors, pointer: &str, value: Option<&str>, what: &str) {
    let Some(value) = value else { return };
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let valid = host.is_some_and(|host| !host.is_empty() && !host.starts_with('/'))
        && !value.chars().any(char::is_whitespace);
    if !valid {
        errors.add(
            pointer,
            "invalid",
            format!("{what} deve ser um endereço http:// ou https:// completo, sem espaços."),
        );
    }
    errors.max_chars(pointer, value, URL_MAX, what);
}

fn digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn ibge(errors: &mut Errors, pointer: &str, code: i32) {
    if !is_ibge_code(code) {
        errors.add(
            pointer,
            "invalid",
            "O código IBGE do município deve ter 7 dígitos.",
        );
    }
}

fn point(errors: &mut Errors, pointer: &str, point: &GeoPoint) {
    if !(-90.0..=90.0).contains(&point.lat) {
        errors.add(
            format!("{pointer}/lat"),
            "out_of_range",
            "A latitude deve estar entre -90 e 90.",
        );
    }
    if !(-180.0..=180.0).contains(&point.lon) {
        errors.add(
            format!("{pointer}/lon"),
            "out_of_range",
            "A longitude deve estar entre -180 e 180.",
        );
    }
}

/// Minutes since midnight of a local time "HH:MM"; "24:00" closes at midnight.
fn minutes(value: &str) -> Option<u32> {
    let (hours, minutes) = value.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    match (hours, minutes) {
        (0..=23, 0..=59) | (24, 0) => Some(hours * 60 + minutes),
        _ => None,
    }
}

/// Checks an organization; every problem at once.
pub fn validate_organization(draft: &OrganizationDraft) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    slug(&mut errors, "/slug", &draft.slug);
    name(&mut errors, &draft.name, ORGANIZATION_NAME_MAX);
    optional_text(
        &mut errors,
        "/acronym",
        draft.acronym.as_deref(),
        ORGANIZATION_ACRONYM_MAX,
        "A sigla",
    );
    parent_slug(&mut errors, &draft.slug, draft.parent.as_deref(), "O órgão");
    if let Some(siorg) = &draft.codes.siorg {
        if !digits(siorg) || siorg.len() > SIORG_MAX {
            errors.add(
                "/codes/siorg",
                "invalid",
                format!("O código SIORG deve ter só dígitos (no máximo {SIORG_MAX})."),
            );
        }
    }
    if let Some(code) = draft.codes.ibge {
        ibge(&mut errors, "/codes/ibge", code);
    }
    if let Some(cnpj) = &draft.codes.cnpj {
        if !digits(cnpj) || cnpj.len() != 14 {
            errors.add(
                "/codes/cnpj",
                "invalid",
                "O CNPJ deve ter 14 dígitos, sem pontos, barra ou hífen.",
            );
        }
    }
    optional_text(
        &mut errors,
        "/description",
        draft.description.as_deref(),
        DESCRIPTION_MAX,
        "A descrição",
    );
    optional_text(
        &mut errors,
        "/contact",
        draft.contact.as_deref(),
        LONG_TEXT_MAX,
        "O contato",
    );
    url(&mut errors, "/website", draft.website.as_deref(), "O site");
    url(
        &mut errors,
        "/ombudsman_url",
        draft.ombudsman_url.as_deref(),
        "O endereço da ouvidoria",
    );
    errors.into_result()
}

/// Checks a topic; every problem at once.
pub fn validate_topic(draft: &TopicDraft) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    slug(&mut errors, "/slug", &draft.slug);
    name(&mut errors, &draft.name, NAME_MAX);
    optional_text(
        &mut errors,
        "/description",
        draft.description.as_deref(),
        LONG_TEXT_MAX,
        "A descrição",
    );
    parent_slug(&mut errors, &draft.slug, draft.parent.as_deref(), "O tema");
    errors.into_result()
}

/// Checks a life event; every problem at once.
pub fn validate_life_event(draft: &LifeEventDraft) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    slug(&mut errors, "/slug", &draft.slug);
    name(&mut errors, &draft.name, NAME_MAX);
    optional_text(
        &mut errors,
        "/description",
        draft.description.as_deref(),
        LONG_TEXT_MAX,
        "A descrição",
    );
    errors.into_result()
}

/// Checks a municipality; every problem at once. The state must be the one the IBGE code
/// belongs to (its first two digits).
pub fn validate_municipality(municipality: &Municipality) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    ibge(&mut errors, "/ibge_code", municipality.ibge_code);
    name(&mut errors, &municipality.name, NAME_MAX);
    match STATES.iter().find(|(uf, _)| *uf == municipality.state) {
        None => errors.add(
            "/state",
            "invalid",
            "Use a sigla de uma das 27 unidades da federação, em maiúsculas (como MT).",
        ),
        Some((uf, prefix))
            if is_ibge_code(municipality.ibge_code)
                && municipality.ibge_code / 100_000 != *prefix =>
        {
            errors.add(
                "/state",
                "invalid",
                format!(
                    "O código IBGE {} não é de um município de {uf}.",
                    municipality.ibge_code
                ),
            )
        }
        Some(_) => {}
    }
    point(&mut errors, "/point", &municipality.point);
    errors.into_result()
}

/// Checks a service unit; every problem at once.
pub fn validate_location(draft: &LocationDraft) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    errors.required("/organization", &draft.organization, "O órgão responsável");
    name(&mut errors, &draft.name, LOCATION_NAME_MAX);
    let address = &draft.address;
    errors.required("/address/street", &address.street, "O logradouro");
    errors.max_chars(
        "/address/street",
        &address.street,
        LOCATION_NAME_MAX,
        "O logradouro",
    );
    optional_text(
        &mut errors,
        "/address/number",
        address.number.as_deref(),
        20,
        "O número",
    );
    optional_text(
        &mut errors,
        "/address/complement",
        address.complement.as_deref(),
        SHORT_TEXT_MAX,
        "O complemento",
    );
    optional_text(
        &mut errors,
        "/address/district",
        address.district.as_deref(),
        SHORT_TEXT_MAX,
        "O bairro",
    );
    if let Some(cep) = &address.postal_code {
        if !digits(cep) || cep.len() != 8 {
            errors.add(
                "/address/postal_code",
                "invalid",
                "O CEP deve ter 8 dígitos, sem hífen.",
            );
        }
    }
    ibge(&mut errors, "/municipality", draft.municipality);
    if let Some(at) = &draft.point {
        point(&mut errors, "/point", at);
    }
    for (i, hours) in draft.opening_hours.iter().enumerate() {
        let at = format!("/opening_hours/{i}");
        let opens = minutes(&hours.opens);
        let closes = minutes(&hours.closes);
        for (field, value) in [("opens", opens), ("closes", closes)] {
            if value.is_none() {
                errors.add(
                    format!("{at}/{field}"),
                    "invalid",
                    "Use a hora local no formato HH:MM, como 08:00.",
                );
            }
        }
        if let (Some(opens), Some(closes)) = (opens, closes) {
            if opens >= closes {
                errors.add(
                    format!("{at}/closes"),
                    "out_of_range",
                    "O horário de fechamento deve ser depois do de abertura.",
                );
            }
        }
    }
    optional_text(
        &mut errors,
        "/phone",
        draft.phone.as_deref(),
        PHONE_MAX,
        "O telefone",
    );
    if let Some(email) = &draft.email {
        let valid = email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }) && !email.chars().any(char::is_whitespace);
        if !valid {
            errors.add("/email", "invalid", "Informe um endereço de e-mail válido.");
        }
        errors.max_chars("/email", email, EMAIL_MAX, "O e-mail");
    }
    optional_text(
        &mut errors,
        "/accessibility",
        draft.accessibility.as_deref(),
        LONG_TEXT_MAX,
        "A descrição da acessibilidade",
    );
    optional_text(
        &mut errors,
        "/responsible_sector",
        draft.responsible_sector.as_deref(),
        SHORT_TEXT_MAX,
        "O setor responsável",
    );
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organization::{Branch, ExternalCodes, OrganizationKind, Sphere};
    use crate::place::{Address, OpeningHours, Weekday};

    fn pointers(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    fn organization() -> OrganizationDraft {
        OrganizationDraft {
            slug: "detran-mt".into(),
            name: "Departamento Estadual de Trânsito".into(),
            acronym: Some("DETRAN-MT".into()),
            kind: OrganizationKind::Autarchy,
            sphere: Sphere::State,
            branch: Branch::Executive,
            parent: None,
            codes: ExternalCodes::default(),
            description: None,
            contact: None,
            website: Some("https://www.detran.mt.gov.br".into()),
            ombudsman_url: None,
            source: None,
        }
    }

    #[test]
    fn organizations_report_every_error_at_once() {
        assert_eq!(validate_organization(&organization()), Ok(()));
        let mut bad = organization();
        bad.slug = "Detran MT".into();
        bad.name = " ".into();
        bad.acronym = Some("x".repeat(31));
        bad.parent = Some("Não".into());
        bad.codes = ExternalCodes {
            siorg: Some("12a".into()),
            ibge: Some(51),
            cnpj: Some("03.467.321/0001-99".into()),
        };
        bad.website = Some("www.detran.mt.gov.br".into());
        bad.ombudsman_url = Some("https://".into());
        assert_eq!(
            pointers(validate_organization(&bad)),
            vec![
                "/slug",
                "/name",
                "/acronym",
                "/parent",
                "/codes/siorg",
                "/codes/ibge",
                "/codes/cnpj",
                "/website",
                "/ombudsman_url"
            ]
        );
        let mut own_parent = organization();
        own_parent.parent = Some("detran-mt".into());
        assert_eq!(
            pointers(validate_organization(&own_parent)),
            vec!["/parent"]
        );
    }

    #[test]
    fn taxa_need_a_slug_and_a_name() {
        let topic = TopicDraft {
            slug: "cnh".into(),
            name: "CNH".into(),
            description: None,
            parent: Some("cnh".into()),
        };
        assert_eq!(pointers(validate_topic(&topic)), vec!["/parent"]);
        let event = LifeEventDraft {
            slug: "-".into(),
            name: String::new(),
            description: Some("x".repeat(501)),
        };
        assert_eq!(
            pointers(validate_life_event(&event)),
            vec!["/slug", "/name", "/description"]
        );
    }

    #[test]
    fn a_municipality_belongs_to_the_state_of_its_code() {
        let cuiaba = Municipality {
            ibge_code: 5_103_403,
            name: "Cuiabá".into(),
            state: "MT".into(),
            point: GeoPoint {
                lat: -15.6,
                lon: -56.1,
            },
            is_capital: true,
        };
        assert_eq!(validate_municipality(&cuiaba), Ok(()));
        let mut wrong = cuiaba.clone();
        wrong.state = "GO".into();
        wrong.point.lat = 91.0;
        assert_eq!(
            pointers(validate_municipality(&wrong)),
            vec!["/state", "/point/lat"]
        );
        wrong.state = "mt".into();
        wrong.ibge_code = 51;
        assert_eq!(
            pointers(validate_municipality(&wrong)),
            vec!["/ibge_code", "/state", "/point/lat"]
        );
    }

    #[test]
    fn service_units_check_hours_contacts_and_address() {
        let unit = LocationDraft {
            id: uuid::Uuid::nil(),
            organization: "detran-mt".into(),
            name: "Posto".into(),
            address: Address {
                street: "Rua A".into(),
                postal_code: Some("78000-000".into()),
                ..Address::default()
            },
            municipality: 5_103_403,
            point: None,
            opening_hours: vec![
                OpeningHours {
                    weekday: Weekday::Monday,
                    opens: "08:00".into(),
                    closes: "24:00".into(),
                },
                OpeningHours {
                    weekday: Weekday::Tuesday,
                    opens: "8h".into(),
                    closes: "07:00".into(),
                },
                OpeningHours {
                    weekday: Weekday::Friday,
                    opens: "12:00".into(),
                    closes: "11:00".into(),
                },
            ],
            phone: None,
            email: Some("posto@".into()),
            accessibility: None,
            responsible_sector: None,
        };
        assert_eq!(
            pointers(validate_location(&unit)),
            vec![
                "/address/postal_code",
                "/opening_hours/1/opens",
                "/opening_hours/2/closes",
                "/email"
            ]
        );
    }
}
