//! The OpenAPI document: generated from the handlers, and covering every route.

use actix_web::http::Method;

use crate::helpers::*;

#[actix_web::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::sqlite().await;
    let r = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = &r.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (method, path) in aitriage::http::api::ROUTES
        .iter()
        .map(|(m, p)| (*m, format!("/api/v1{p}")))
        .chain([
            ("get", "/healthz".to_string()),
            ("get", "/metrics".to_string()),
        ])
    {
        if paths.get(&path).and_then(|p| p.get(method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
    // And nothing documented that is not routed.
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, aitriage::http::api::ROUTES.len() + 2);
    // Errors are described with the schema the API really sends.
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for k in [
        "type",
        "title",
        "status",
        "detail",
        "code",
        "errors",
        "current_version",
    ] {
        assert!(problem.get(k).is_some(), "Problem schema lacks {k}");
    }
    let t = app.submitter("UNICEF");
    let sent = app.get("/api/v1/use-cases/not-a-case", &t).await;
    for k in sent.json.as_object().unwrap().keys() {
        assert!(
            problem.get(k).is_some(),
            "the API sends {k}, the schema does not describe it"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Problem responses are described once and referenced from each operation.
    let unauthorized = &doc["components"]["responses"]["Unauthorized"];
    assert_eq!(
        unauthorized["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem",
        "{unauthorized}"
    );
    let read = &paths["/api/v1/use-cases/{id}"]["get"]["responses"];
    assert_eq!(
        read["401"]["$ref"], "#/components/responses/Unauthorized",
        "{read}"
    );
    // The guardrail policy has a JSON Schema a runtime can validate against, down to each
    // tool's decision.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "Policy",
        "AgentPolicy",
        "ToolPolicy",
        "DelegationPolicy",
        "Guardrail",
        "Agent",
        "Tool",
    ] {
        assert!(schemas[name].is_object(), "no {name} schema");
    }
    let decision = serde_json::to_string(&schemas["Guardrail"]).unwrap();
    for v in ["allow", "approve", "deny"] {
        assert!(decision.contains(v), "{decision}");
    }
    assert_eq!(
        paths["/api/v1/use-cases/{id}/policy"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["$ref"],
        "#/components/schemas/Policy"
    );
}
