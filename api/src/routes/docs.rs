//! The OpenAPI document and the Swagger UI, served from assets vendored in the binary: nothing is
//! fetched from the internet at build or run time.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::ApiError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/swagger-ui/init.js"),
    },
    Asset {
        name: "favicon-32x32.png",
        content_type: "image/png",
        body: include_bytes!("../../assets/swagger-ui/favicon-32x32.png"),
    },
];

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");

pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX)
}

/// The problem types, where the `type` of every problem body points (`/docs/problems#code`).
pub async fn problems() -> HttpResponse {
    static PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(problems_page);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(PAGE.as_str())
}

fn problems_page() -> String {
    let escape = |text: &str| html_escape::encode_text(text).into_owned();
    let rows: String = crate::error::PROBLEM_TYPES
        .iter()
        .map(|problem| {
            format!(
                "<tr id=\"{code}\"><td><a href=\"#{code}\"><code>{code}</code></a></td><td>{status}</td><td>{title}</td><td>{meaning}</td></tr>\n",
                code = problem.code,
                status = problem.status,
                title = escape(problem.title),
                meaning = escape(problem.meaning),
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"pt-BR\"><head><meta charset=\"utf-8\"><title>Carta: problemas</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.3em .6em;vertical-align:top}}tr:target{{background:#ffd}}</style></head>\n\
         <body><h1>Problemas que a API responde</h1>\n\
         <p>Todo erro é <code>application/problem+json</code> (RFC 9457): <code>type</code> aponta para esta página, \
         <code>code</code> é o código abaixo, <code>errors</code> detalha cada parâmetro ou campo. \
         A especificação da API está em <a href=\"/docs\">/docs</a>.</p>\n\
         <table><thead><tr><th>code</th><th>status</th><th>título</th><th>quando acontece</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n"
    )
}

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name.as_str())
        .ok_or(ApiError::NoRoute)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(asset.body))
}

pub async fn openapi_json(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.json.clone())
}

pub async fn openapi_yaml(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(document.yaml.clone())
}

/// The document, rendered once at start.
pub struct OpenApiDocument {
    pub json: String,
    pub yaml: String,
}
