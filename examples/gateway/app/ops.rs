//! Operations endpoints: `/metrics` (Prometheus text), `/status` (JSON) and
//! `/status.html` (the same, for a browser, refreshing itself).

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use seawall::balance::EndpointStatus;
use serde_json::{json, Value};

use super::answer::{full, reply, Body};
use super::gateway::Gateway;

/// The answer for an operations path, or `None` for any other path.
pub fn serve(gw: &Gateway, path: &str) -> Option<Response<Body>> {
    let (body, kind) = match path {
        "/metrics" => {
            let Some(handle) = &gw.metrics else {
                return Some(reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no metrics recorder installed",
                    None,
                ));
            };
            publish(gw);
            (handle.render(), "text/plain; version=0.0.4")
        }
        "/status" => (status(gw).to_string(), "application/json"),
        "/status.html" => (html(&status(gw)), "text/html; charset=utf-8"),
        _ => return None,
    };
    let mut res = Response::new(full(body));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    Some(res)
}

/// Gauges are read from the pools at scrape time rather than kept current
/// on every call.
fn publish(gw: &Gateway) {
    for (name, pool) in &gw.pools {
        for e in pool.endpoints().iter() {
            let labels = [("pool", name.clone()), ("endpoint", e.addr.to_string())];
            metrics::gauge!("seawall_gateway_endpoint_in_flight", &labels)
                .set(f64::from(e.in_flight()));
            if let Some(b) = &e.breaker {
                metrics::gauge!("seawall_gateway_breaker_state", &labels)
                    .set(f64::from(b.state().code()));
            }
            if let Some(limit) = &e.limit {
                metrics::gauge!("seawall_gateway_endpoint_limit", &labels)
                    .set(f64::from(limit.max));
            }
        }
    }
}

pub fn status(gw: &Gateway) -> Value {
    let pools: Vec<Value> =
        gw.pools
            .iter()
            .map(|(name, pool)| {
                let balancer = pool.chooser().map(|c| c.endpoints()).unwrap_or_default();
                let endpoints: Vec<Value> = pool
                .endpoints()
                .iter()
                .map(|e| {
                    let ordering = std::sync::atomic::Ordering::Relaxed;
                    let seen = balancer.iter().find(|i| *i.key() == e.addr);
                    let (ejected, status) = match seen.map(|i| i.status()) {
                        Some(EndpointStatus::Ejected { remaining, ejections }) => {
                            (true, format!("ejected {ejections}× for {remaining:?} more"))
                        }
                        Some(EndpointStatus::SlowStarting { weight }) => {
                            (false, format!("slow start at {:.0} %", 100.0 * weight))
                        }
                        Some(_) => (false, "healthy".to_owned()),
                        None => (false, "static split".to_owned()),
                    };
                    json!({
                        "address": e.address,
                        "addr": e.addr.to_string(),
                        "in_flight": e.in_flight(),
                        "peak_in_flight": e.peak.load(ordering),
                        "limit": e.current_limit(),
                        "balancer": status,
                        "balancer_cost": seen.map(|i| i.cost()),
                        "requests": e.requests.load(ordering),
                        "failures": e.failures.load(ordering),
                        "latency_ms": e.latency().as_secs_f64() * 1e3,
                        "breaker": e.breaker.as_ref().map(|b| b.state().as_str()),
                        "failure_rate": e.breaker.as_ref().and_then(|b| b.metrics().failure_rate()),
                        "skipped": ejected || !e.permitted(),
                    })
                })
                .collect();
                json!({ "name": name, "endpoints": endpoints })
            })
            .collect();
    let routes: Vec<Value> = gw
        .routes
        .0
        .iter()
        .map(|r| {
            json!({
                "prefix": r.prefix,
                "pool": r.pool.name,
                "timeout_ms": r.timeout.as_millis() as u64,
                "bulkhead_max": r.bulkhead.as_ref().map(|b| b.max()),
                "bulkhead_in_use": r.bulkhead.as_ref().map(|b| b.in_use()),
            })
        })
        .collect();
    json!({
        "stack": format!("{:?}", gw.config.stack).to_lowercase(),
        "uptime_s": gw.started.elapsed().as_secs(),
        "routes": routes,
        "pools": pools,
    })
}

fn html(status: &Value) -> String {
    let mut rows = String::new();
    for pool in status["pools"].as_array().into_iter().flatten() {
        for e in pool["endpoints"].as_array().into_iter().flatten() {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>\n",
                pool["name"].as_str().unwrap_or(""),
                e["address"].as_str().unwrap_or(""),
                e["in_flight"],
                e["limit"],
                e["requests"],
                e["failures"],
                e["latency_ms"].as_f64().unwrap_or(0.0),
                e["breaker"].as_str().unwrap_or("none"),
                e["balancer"].as_str().unwrap_or(""),
            ));
        }
    }
    format!(
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=2>\
         <title>seawall gateway</title><style>body{{font-family:sans-serif}}td,th{{padding:2px 10px;text-align:left}}</style></head>\
         <body><h1>seawall gateway ({} stack)</h1><table><tr><th>pool</th><th>endpoint</th><th>in flight</th><th>limit</th>\
         <th>requests</th><th>failures</th><th>latency ms</th><th>breaker</th><th>balancer</th></tr>\n{rows}</table>\
         <p>JSON: <a href=/status>/status</a> · Prometheus: <a href=/metrics>/metrics</a></p></body></html>\n",
        status["stack"].as_str().unwrap_or("")
    )
}
