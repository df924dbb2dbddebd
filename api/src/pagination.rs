//! Page parameters, the list envelope and RFC 8288 `Link` headers.

use actix_web::{http::header, HttpRequest, HttpResponse};
use domain::query::{Page, PageRequest, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, InvalidField};
use crate::query::QueryParams;

pub const PAGE_PARAMETERS: [&str; 2] = ["page", "per_page"];

pub fn read_page(params: &mut QueryParams) -> PageRequest {
    PageRequest {
        page: params.integer_in("page", 1, 100_000).unwrap_or(1),
        per_page: params
            .integer_in("per_page", 1, MAX_PER_PAGE)
            .unwrap_or(DEFAULT_PER_PAGE),
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    /// Items matching the request, on all pages.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

fn page_url(req: &HttpRequest, page: u32) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(name, _)| name != "page");
    pairs.push(("page".to_owned(), page.to_string()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}?{}", req.path(), query)
}

/// The RFC 8288 `Link` header (first, prev, next, last) of a page; a page past the last one is a
/// 422, so a client paging with stale totals learns it.
pub fn link_header(
    req: &HttpRequest,
    request: PageRequest,
    total: i64,
) -> Result<String, ApiError> {
    let last = request.last_page(total);
    if request.page > last {
        return Err(ApiError::InvalidQuery(vec![InvalidField::parameter(
            "page",
            "out_of_range",
            format!("Esta página não existe: a última é {last}."),
        )]));
    }
    let mut links = vec![
        format!("<{}>; rel=\"first\"", page_url(req, 1)),
        format!("<{}>; rel=\"last\"", page_url(req, last)),
    ];
    if request.page > 1 {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            page_url(req, request.page - 1)
        ));
    }
    if request.page < last {
        links.push(format!(
            "<{}>; rel=\"next\"",
            page_url(req, request.page + 1)
        ));
    }
    Ok(links.join(", "))
}

/// The envelope, its items reduced to `fields` (all when `None`), and its `Link` header.
pub fn answer<T: Serialize>(
    req: &HttpRequest,
    request: PageRequest,
    page: Page<T>,
    fields: Option<&[&str]>,
) -> Result<(Projected<Paginated<T>>, Option<String>), ApiError> {
    let links = link_header(req, request, page.total)?;
    let body = Paginated {
        items: page.items,
        total: page.total,
        page: request.page,
        per_page: request.per_page,
    };
    Ok((project(body, fields)?, Some(links)))
}

/// Documents the page parameters of a list that takes no others.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

/// The query of a list that takes only page parameters.
pub struct PageQuery(pub PageRequest);

impl crate::query::QueryModel for PageQuery {
    const PARAMETERS: &'static [&'static str] = &PAGE_PARAMETERS;

    fn read(params: &mut QueryParams) -> Self {
        PageQuery(read_page(params))
    }
}

/// 200 with a page and its `Link` header.
pub fn respond<T: Serialize>(
    req: &HttpRequest,
    request: PageRequest,
    page: Page<T>,
) -> Result<HttpResponse, ApiError> {
    let (body, links) = answer(req, request, page, None)?;
    let mut response = HttpResponse::Ok();
    if let Some(links) = links {
        response.insert_header((header::LINK, links));
    }
    Ok(response.json(body))
}

/// A list answer as sent: whole, or with its items reduced to the fields a client chose.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Projected<T> {
    Whole(T),
    Fields(serde_json::Value),
}

/// A list answer (an envelope's `items`, or a bare array) whose items keep only the `fields`
/// chosen (all when `None`), and the `children` that hold a tree: `fields=id,updated_at` lets a
/// client compare its copy with the catalogue at a fraction of the size. Without `fields` the
/// body is serialized once, straight to bytes, with no intermediate JSON value.
pub fn project<T: Serialize>(body: T, fields: Option<&[&str]>) -> Result<Projected<T>, ApiError> {
    fn keep(items: &mut serde_json::Value, fields: &[&str]) {
        for item in items.as_array_mut().into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                item.retain(|name, _| name == "children" || fields.contains(&name.as_str()));
                if let Some(children) = item.get_mut("children") {
                    keep(children, fields);
                }
            }
        }
    }
    let Some(fields) = fields else {
        return Ok(Projected::Whole(body));
    };
    let mut value = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    match value.get_mut("items") {
        Some(items) => keep(items, fields),
        None => keep(&mut value, fields),
    }
    Ok(Projected::Fields(value))
}
