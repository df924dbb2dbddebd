//! Which methods each path takes, read from the OpenAPI document (every route of
//! `routes::configure` is documented; the document's own routes and its UI are added by
//! `build_app`): a request the router cannot place is a 405 with `Allow` when its path exists
//! (RFC 9110 §15.5.6), and a 404 otherwise.

use actix_web::http::Method;

/// The methods the API answers, in the order `Allow` lists them (CORS allows the same).
pub const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// A path template's segments (`{…}` matches any one segment) and the methods it takes.
pub struct RouteTable(Vec<(Vec<String>, Vec<Method>)>);

impl RouteTable {
    /// From `document`, plus the routes it does not describe (`extra`: the document itself and
    /// its UI).
    pub fn new<'a>(
        document: &utoipa::openapi::OpenApi,
        extra: impl IntoIterator<Item = (&'a str, Method)>,
    ) -> RouteTable {
        let mut routes: Vec<(Vec<String>, Vec<Method>)> = Vec::new();
        let mut add = |path: &str, method: Method| {
            let segments = segments(path).map(str::to_owned).collect::<Vec<_>>();
            match routes.iter_mut().find(|(known, _)| *known == segments) {
                Some((_, methods)) if !methods.contains(&method) => methods.push(method),
                Some(_) => {}
                None => routes.push((segments, vec![method])),
            }
        };
        for (path, item) in &document.paths.paths {
            for (operation, method) in [
                (&item.get, Method::GET),
                (&item.put, Method::PUT),
                (&item.post, Method::POST),
                (&item.delete, Method::DELETE),
                (&item.options, Method::OPTIONS),
                (&item.head, Method::HEAD),
                (&item.patch, Method::PATCH),
                (&item.trace, Method::TRACE),
            ] {
                if operation.is_some() {
                    add(path, method);
                }
            }
        }
        for (path, method) in extra {
            add(path, method);
        }
        RouteTable(routes)
    }

    /// The methods `path` takes, for `Allow`: every method of every template it fits, GET with
    /// HEAD (the API answers HEAD wherever it answers GET), in the order of [`METHODS`]; empty
    /// when no route has this path.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let requested: Vec<&str> = segments(path).collect();
        let fits = |template: &[String]| {
            template.len() == requested.len()
                && template.iter().zip(&requested).all(|(part, segment)| {
                    part == segment || (part.starts_with('{') && !segment.is_empty())
                })
        };
        let mut methods: Vec<Method> = Vec::new();
        for (_, taken) in self.0.iter().filter(|(template, _)| fits(template)) {
            for method in taken {
                if !methods.contains(method) {
                    methods.push(method.clone());
                }
            }
        }
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods.sort_by_key(|method| {
            METHODS
                .iter()
                .position(|m| m == method)
                .unwrap_or(METHODS.len())
        });
        methods
    }
}

/// `methods` as an `Allow` value.
pub fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/v1/topics/{id}` as `["v1", "topics", "{id}"]`; a trailing slash is a segment of its own.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_every_fitting_template() {
        let document = utoipa::openapi::OpenApiBuilder::new()
            .paths(
                utoipa::openapi::PathsBuilder::new()
                    .path(
                        "/v1/topics",
                        utoipa::openapi::PathItem::from_http_methods(
                            [
                                utoipa::openapi::HttpMethod::Get,
                                utoipa::openapi::HttpMethod::Post,
                            ],
                            utoipa::openapi::path::Operation::new(),
                        ),
                    )
                    .path(
                        "/v1/topics/{id_or_slug}",
                        utoipa::openapi::PathItem::from_http_methods(
                            [
                                utoipa::openapi::HttpMethod::Delete,
                                utoipa::openapi::HttpMethod::Get,
                            ],
                            utoipa::openapi::path::Operation::new(),
                        ),
                    ),
            )
            .build();
        let table = RouteTable::new(&document, [("/docs/{asset}", Method::GET)]);
        let allow = |path: &str| allow_header(&table.allowed(path));
        assert_eq!(allow("/v1/topics"), "GET, HEAD, POST");
        assert_eq!(allow("/v1/topics/saude"), "GET, HEAD, DELETE");
        assert_eq!(allow("/docs/app.js"), "GET, HEAD");
        for unknown in ["/v1/topics/saude/extra", "/v1/topics/", "/v1/nada", "/"] {
            assert!(table.allowed(unknown).is_empty(), "{unknown}");
        }
    }

    #[test]
    fn every_documented_method_is_one_the_api_answers() {
        // CORS allows only these, and `Allow` orders by them.
        let table = RouteTable::new(&crate::openapi(), []);
        for (template, methods) in &table.0 {
            for method in methods {
                assert!(METHODS.contains(method), "{method} /{}", template.join("/"));
            }
        }
    }
}
