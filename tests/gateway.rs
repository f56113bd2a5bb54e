//! The reference gateway over loopback, with a real HTTP client. Every wait
//! is bounded: a test fails rather than hangs. Breaker time is a manual
//! clock, so no test waits for a breaker.

#[path = "../examples/gateway/app/mod.rs"]
mod app;

use std::sync::OnceLock;
use std::time::Duration;

use app::backend::{Backend, BackendSpec, Mode};
use app::config::Config;
use app::gateway::{self, Options, Running};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use seawall::clock::ManualClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_secs(10);

struct Rig {
    gw: Running,
    backends: Vec<Backend>,
    client: Client<HttpConnector, Full<Bytes>>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// Starts the named backends and a gateway whose configuration is `toml`
/// with `{0}`, `{1}`, … replaced by the backends' addresses.
async fn rig(toml: &str, backends: Vec<BackendSpec>, options: Options) -> Rig {
    let mut started = Vec::new();
    for spec in backends {
        started.push(Backend::spawn(spec).await.expect("backend starts"));
    }
    // Tests that tune the server write `[server]` keys first, and they
    // land in this table.
    let mut text = format!("[server]\nlisten = \"127.0.0.1:0\"\n{toml}");
    for (i, b) in started.iter().enumerate() {
        text = text.replace(&format!("{{{i}}}"), &b.addr.to_string());
    }
    let config = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let gw = gateway::start(config, options)
        .await
        .expect("gateway starts");
    let client = Client::builder(TokioExecutor::new()).build_http();
    Rig {
        gw,
        backends: started,
        client,
    }
}

fn backend(name: &str) -> BackendSpec {
    BackendSpec::new(name, 16, Duration::from_millis(1))
}

impl Rig {
    async fn send(&self, req: Request<Full<Bytes>>) -> Reply {
        let exchange = async {
            let res = self.client.request(req).await.expect("gateway answers");
            let (parts, body) = res.into_parts();
            let body = body.collect().await.expect("body arrives").to_bytes();
            Reply {
                status: parts.status,
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        };
        tokio::time::timeout(BOUND, exchange)
            .await
            .expect("answer within the bound")
    }

    async fn get(&self, path: &str) -> Reply {
        let uri = format!("http://{}{path}", self.gw.addr);
        self.send(Request::get(uri).body(Full::default()).expect("request"))
            .await
    }

    /// Writes raw bytes on a fresh connection and reads until it closes
    /// (or `BOUND` passes, which fails the test).
    async fn raw(&self, bytes: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.gw.addr).await.expect("connects");
        stream.write_all(bytes).await.expect("writes");
        let mut out = Vec::new();
        let read = tokio::time::timeout(BOUND, stream.read_to_end(&mut out)).await;
        read.expect("the gateway closes the connection within the bound")
            .ok();
        String::from_utf8_lossy(&out).into_owned()
    }
}

const TWO_POOLS: &str = r#"
[[route]]
prefix = "/api"
pool = "api"
[[route]]
prefix = "/api/v2"
pool = "v2"
[pool.api]
endpoints = ["{0}"]
[pool.v2]
endpoints = ["{1}"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_longest_prefix_on_segment_boundaries() {
    let rig = rig(
        TWO_POOLS,
        vec![backend("one"), backend("two")],
        Options::default(),
    )
    .await;
    for (path, status, body) in [
        ("/api", 200, "one\n"),
        ("/api/users?id=3", 200, "one\n"),
        ("/api/v2/users", 200, "two\n"),
        ("/api/v2", 200, "two\n"),
        ("/apis", 404, "no route for this path\n"),
        ("/other", 404, "no route for this path\n"),
    ] {
        let reply = rig.get(path).await;
        assert_eq!(
            (reply.status.as_u16(), reply.body.as_str()),
            (status, body),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_backend_trips_its_breaker_then_recovers() {
    let clock = ManualClock::new();
    let toml = r#"
[[route]]
prefix = "/"
pool = "p"
[pool.p]
endpoints = ["{0}"]
[pool.p.breaker]
policy = { type = "consecutive_failures", threshold = 3 }
wait_duration_in_open_state = "10s"
permitted_number_of_calls_in_half_open_state = 1
"#;
    let rig = rig(
        toml,
        vec![backend("b")],
        Options {
            clock: Some(clock.clone()),
            ..Options::default()
        },
    )
    .await;
    rig.backends[0].set_mode(Mode::Failing);
    for _ in 0..3 {
        assert_eq!(
            rig.get("/x").await.status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let refused = rig.get("/x").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "10");
    assert!(
        refused.body.contains("circuit breaker is open"),
        "{}",
        refused.body
    );
    rig.backends[0].set_mode(Mode::Healthy);
    assert_eq!(
        rig.get("/x").await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "still open before the wait"
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        rig.get("/x").await.status,
        StatusCode::OK,
        "the probe passes"
    );
    assert_eq!(rig.get("/x").await.status, StatusCode::OK, "closed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_loses_its_share() {
    let toml = r#"
[[route]]
prefix = "/"
pool = "p"
[pool.p]
endpoints = ["{0}", "{1}"]
# Latencies here are milliseconds: start every endpoint's estimate there.
[pool.p.balance]
default_rtt = "2ms"
decay = "1s"
"#;
    let rig = rig(
        toml,
        vec![backend("fast"), backend("slow")],
        Options::default(),
    )
    .await;
    rig.backends[1].set_extra_delay(Duration::from_millis(100));
    let mut slow = 0;
    for _ in 0..10 {
        let (a, b, c, d) = tokio::join!(rig.get("/x"), rig.get("/x"), rig.get("/x"), rig.get("/x"));
        for reply in [a, b, c, d] {
            assert_eq!(reply.status, StatusCode::OK);
            slow += usize::from(reply.body == "slow\n");
        }
    }
    assert!(slow <= 10, "the slow backend served {slow} of 40 calls");
}

const BULKHEADS: &str = r#"
[[route]]
prefix = "/a"
pool = "a"
max_concurrency = 2
[[route]]
prefix = "/b"
pool = "b"
max_concurrency = 2
[pool.a]
endpoints = ["{0}"]
[pool.b]
endpoints = ["{1}"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_route_bulkhead_leaves_other_routes_alone() {
    let rig = rig(
        BULKHEADS,
        vec![backend("a"), backend("b")],
        Options::default(),
    )
    .await;
    rig.backends[0].set_extra_delay(Duration::from_millis(500));
    let held = async { tokio::join!(rig.get("/a/1"), rig.get("/a/2")) };
    let probe = async {
        // Wait (bounded) until both calls sit in backend a.
        let stats = &rig.backends[0].stats;
        tokio::time::timeout(BOUND, async {
            while stats.in_system.load(std::sync::atomic::Ordering::Relaxed) < 2 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("both calls reach the backend");
        (rig.get("/a/3").await, rig.get("/b/1").await)
    };
    let ((first, second), (refused, other)) = tokio::join!(held, probe);
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        other.status,
        StatusCode::OK,
        "route /b has its own bulkhead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_route_bulkhead_queues_a_call_instead_of_refusing_it() {
    let toml = r#"
[[route]]
prefix = "/"
pool = "p"
max_concurrency = 1
wait = { max_wait = "5s", queue = 4 }
[pool.p]
endpoints = ["{0}"]
"#;
    let rig = rig(toml, vec![backend("a")], Options::default()).await;
    rig.backends[0].set_extra_delay(Duration::from_millis(200));
    let first = rig.get("/1");
    let second = async {
        let stats = &rig.backends[0].stats;
        tokio::time::timeout(BOUND, async {
            while stats.in_system.load(std::sync::atomic::Ordering::Relaxed) < 1 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the first call reaches the backend");
        // The bulkhead is full now: this call waits for the first's slot.
        rig.get("/2").await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
}

const ONE_ROUTE: &str = r#"
[[route]]
prefix = "/"
pool = "p"
timeout = "200ms"
[pool.p]
endpoints = ["{0}"]
"#;

fn with_server(server: &str) -> String {
    format!("{server}\n{ONE_ROUTE}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_failures_get_clear_answers() {
    let rig = rig(ONE_ROUTE, vec![backend("b")], Options::default()).await;
    rig.backends[0].set_mode(Mode::Resetting);
    let reset = rig.get("/x").await;
    assert_eq!(reset.status, StatusCode::BAD_GATEWAY);
    assert!(
        reset.body.starts_with("backend unreachable"),
        "{}",
        reset.body
    );
    rig.backends[0].set_mode(Mode::Healthy);
    rig.backends[0].set_extra_delay(Duration::from_millis(2000));
    let slow = rig.get("/x").await;
    assert_eq!(
        (slow.status, slow.body.as_str()),
        (StatusCode::GATEWAY_TIMEOUT, "backend timed out\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_backend_is_a_502() {
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let toml = format!(
        "[[route]]\nprefix = \"/\"\npool = \"p\"\n[pool.p]\nendpoints = [\"127.0.0.1:{port}\"]\n"
    );
    let rig = rig(&toml, vec![], Options::default()).await;
    assert_eq!(rig.get("/x").await.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_are_refused() {
    let server = "max_header_bytes = 8192\nmax_body_bytes = 1024\nheader_read_timeout = \"300ms\"\nbody_read_timeout = \"300ms\"";
    let rig = rig(&with_server(server), vec![backend("b")], Options::default()).await;
    let garbage = rig.raw(b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let big_header = format!(
        "GET / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let refused = rig.raw(big_header.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 431"), "{refused}");
    let uri = format!("http://{}/upload", rig.gw.addr);
    let big_body = rig
        .send(
            Request::post(uri)
                .body(Full::from(vec![b'x'; 4096]))
                .expect("request"),
        )
        .await;
    assert_eq!(
        (big_body.status, big_body.body.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let server = "header_read_timeout = \"300ms\"\nbody_read_timeout = \"300ms\"";
    let rig = rig(&with_server(server), vec![backend("b")], Options::default()).await;
    // A head that never ends: the connection is closed (hyper may say 408 first).
    let head = rig.raw(b"GET / HTTP/1.1\r\nhost: x\r\n").await;
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
    // A body that never arrives in full.
    let body = rig.raw(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\nconnection: close\r\n\r\nonly ten b").await;
    assert!(body.starts_with("HTTP/1.1 408"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_go_and_forwarded_for_comes() {
    let rig = rig(ONE_ROUTE, vec![backend("b")], Options::default()).await;
    let uri = format!("http://{}/echo/headers", rig.gw.addr);
    let req = Request::get(uri)
        .header("connection", "x-secret")
        .header("x-secret", "1")
        .header("proxy-authorization", "basic abc")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-kept", "yes")
        .body(Full::default())
        .expect("request");
    let seen = rig.send(req).await.body;
    assert!(
        seen.contains("x-forwarded-for: 10.0.0.1, 127.0.0.1\n"),
        "{seen}"
    );
    assert!(seen.contains("x-kept: yes\n"), "{seen}");
    for gone in ["x-secret", "proxy-authorization"] {
        assert!(!seen.contains(gone), "{gone} forwarded: {seen}");
    }
}

/// One recorder for this test binary; the library never installs one.
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("first recorder");
            handle
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_status_describe_the_gateway() {
    let options = Options {
        metrics: Some(recorder()),
        ..Options::default()
    };
    let rig = rig(BULKHEADS, vec![backend("a"), backend("b")], options).await;
    assert_eq!(rig.get("/a/x").await.status, StatusCode::OK);
    let metrics = rig.get("/metrics").await;
    assert_eq!(metrics.headers["content-type"], "text/plain; version=0.0.4");
    for line in [
        "seawall_gateway_requests_total{route=\"/a\",status=\"200\"} 1",
        "seawall_gateway_breaker_state{pool=\"a\"",
        "seawall_gateway_endpoint_in_flight{pool=\"b\"",
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} missing from\n{}",
            metrics.body
        );
    }
    let status: serde_json::Value =
        serde_json::from_str(&rig.get("/status").await.body).expect("json");
    assert_eq!(status["stack"], "seawall");
    let a = &status["pools"][0];
    assert_eq!(
        (a["name"].as_str(), a["endpoints"][0]["breaker"].as_str()),
        (Some("a"), Some("closed"))
    );
    assert_eq!(a["endpoints"][0]["requests"], 1);
    assert_eq!(status["routes"][0]["bulkhead_max"], 2);
    let html = rig.get("/status.html").await;
    assert!(
        html.body.contains("http-equiv=refresh") && html.body.contains("<td>a</td>"),
        "{}",
        html.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_refuses_new_ones() {
    let rig = rig(ONE_ROUTE, vec![backend("b")], Options::default()).await;
    rig.backends[0].set_extra_delay(Duration::from_millis(150));
    let Rig {
        gw,
        backends,
        client,
    } = rig;
    let addr = gw.addr;
    let uri = format!("http://{addr}/x");
    let in_flight = tokio::spawn(async move {
        let res = client
            .request(Request::get(uri).body(Full::default()).expect("request"))
            .await;
        res.map(|r| r.status())
    });
    tokio::time::timeout(BOUND, async {
        while backends[0]
            .stats
            .in_system
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the call reaches the backend");
    tokio::time::timeout(BOUND, gw.shutdown())
        .await
        .expect("shutdown ends");
    let status = tokio::time::timeout(BOUND, in_flight)
        .await
        .expect("bounded")
        .expect("task");
    assert_eq!(status.expect("answered"), StatusCode::OK);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "new connections are refused"
    );
}

#[test]
fn invalid_files_are_refused_with_field_position_and_reason() {
    for (text, field, line, reason) in [
        ("[server]\nlisten = 5\n", "server.listen", 2, "invalid type"),
        ("[server]\nmax_body = 1\n", "server.max_body", 2, "unknown field"),
        ("[server]\nheader_read_timeout = \"soon\"\n", "server.header_read_timeout", 2, "duration"),
        ("[[route]]\nprefix = \"/\"\npool = \"nope\"\n", "route[0].pool", 3, "no pool of that name"),
        ("[[route]]\nprefix = \"api\"\npool = \"p\"\n[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n", "route[0].prefix", 2, "must start with `/`"),
        ("[pool.p]\nendpoints = []\n", "pool.p.endpoints", 2, "at least one endpoint"),
        (
            "[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n[pool.p.breaker]\nfailure_rate_threshold = 150.0\n",
            "pool.p.breaker.failure_rate_threshold",
            4,
            "percentage",
        ),
        (
            "[[route]]\nprefix = \"/\"\npool = \"p\"\nwait = { max_wait = \"50ms\", queue = 4 }\n[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n",
            "route[0].wait",
            4,
            "needs max_concurrency",
        ),
        (
            "[[route]]\nprefix = \"/\"\npool = \"p\"\nmax_concurrency = 2\nwait = { max_wait = \"50ms\", queue = 0 }\n[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n",
            "route[0].wait.queue",
            5,
            "at least 1",
        ),
        (
            "[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n[pool.p.balance]\nmax_ejection_percent = 150.0\n",
            "pool.p.balance.max_ejection_percent",
            3,
            "percentage",
        ),
        (
            "[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n[pool.p.balance]\nsuccess_rate = { minimum_hosts = 1, request_volume = 10, stdev_factor = -1.0 }\n",
            "pool.p.balance.success_rate.stdev_factor",
            3,
            "",
        ),
        (
            "[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n[pool.p.limit]\nmin_limit = 9\nmax_limit = 3\n",
            "pool.p.limit.max_limit",
            3,
            "",
        ),
        (
            "[pool.p]\nendpoints = [\"127.0.0.1:1\"]\n[pool.p.limit]\nalgorithm = \"aimd\"\nheadroom = 0.3\n",
            "pool.p.limit",
            3,
            "only the hybrid algorithm",
        ),
    ] {
        let e = Config::parse(text).expect_err(text);
        assert_eq!((e.field.as_str(), e.line), (field, line), "{text}: {e}");
        assert!(e.reason.contains(reason), "{text}: {e}");
        assert!(e.column >= 1);
    }
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let text = include_str!("../examples/gateway/gateway.toml");
    let config = Config::parse(text).unwrap_or_else(|e| panic!("gateway.toml: {e}"));
    assert!(!config.routes.is_empty() && !config.pools.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adaptive_limit_gates_each_endpoint() {
    let toml = r#"
[[route]]
prefix = "/"
pool = "p"
[pool.p]
endpoints = ["{0}"]
[pool.p.limit]
algorithm = "aimd"
initial_limit = 3
min_limit = 1
max_limit = 8
"#;
    let rig = rig(toml, vec![backend("b")], Options::default()).await;
    assert_eq!(rig.get("/x").await.status, StatusCode::OK);
    let status: serde_json::Value =
        serde_json::from_str(&rig.get("/status").await.body).expect("json");
    let limit = status["pools"][0]["endpoints"][0]["limit"]
        .as_u64()
        .expect("a limit is shown");
    assert!((1..=8).contains(&limit), "limit {limit} outside [min, max]");
    rig.backends[0].set_extra_delay(Duration::from_millis(300));
    let (a, b, c, d) = tokio::join!(rig.get("/1"), rig.get("/2"), rig.get("/3"), rig.get("/4"));
    let refused = [&a, &b, &c, &d]
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(refused >= 1, "four calls at once pass a limit of {limit}");
}

/// A body that fails at once, as a backend connection reset mid-body.
struct Broken;

impl hyper::body::Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::ErrorKind::ConnectionReset.into())))
    }
}

#[tokio::test]
async fn a_response_holds_its_route_slot_and_endpoint_permits_until_its_body_ends() {
    use app::held::{Call, Held, Hold};
    use seawall::balance::{Chooser, Health};
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::bulkhead::BulkheadLayer;
    use seawall::classify::{Outcome, Sample};
    use seawall::limit::{algorithm::Fixed, Limiter};

    let bulkhead = BulkheadLayer::builder()
        .max_concurrent_calls(4)
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(1)
        .build()
        .unwrap();
    let limiter = Limiter::builder(Fixed::new(4).unwrap()).build().unwrap();
    let gates = Health::new()
        .gate(breaker.clone())
        .unwrap()
        .gate(limiter.clone())
        .unwrap();
    let mut chooser = Chooser::builder().build().unwrap();
    let cfg = app::config::Config::parse("").unwrap();
    let client = app::gateway::client(&cfg);
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let forward = app::forward::Forward::new(client, addr);
    let endpoint = std::sync::Arc::new(app::endpoint::Endpoint::new(
        "e".into(),
        addr,
        1,
        forward,
        None,
        None,
    ));
    chooser.insert_with(0u8, endpoint, gates);
    let hold = |chooser: &mut Chooser<u8, _>| Hold {
        slot: Some(bulkhead.try_acquire().unwrap()),
        call: Some(Call::new(
            Some(chooser.pick().unwrap()),
            Sample::new(Outcome::Success, Duration::from_millis(5)),
            None,
        )),
    };

    // Read to its end: held while frames come, released at the end.
    let mut body = Held::new(Full::new(Bytes::from_static(b"ok")), hold(&mut chooser));
    assert!(body.frame().await.unwrap().is_ok());
    assert_eq!((bulkhead.in_flight(), limiter.in_flight()), (1, 1));
    assert!(body.frame().await.is_none());
    assert_eq!((bulkhead.in_flight(), limiter.in_flight()), (0, 0));
    assert_eq!(breaker.state(), State::Closed);

    // Dropped unread (the client went away): released.
    let body = Held::new(Full::new(Bytes::from_static(b"ok")), hold(&mut chooser));
    assert_eq!(bulkhead.in_flight(), 1);
    drop(body);
    assert_eq!((bulkhead.in_flight(), limiter.in_flight()), (0, 0));

    // Failing midway: released, and the call counts as a failure.
    let mut body = Held::new(Broken, hold(&mut chooser));
    assert!(body.frame().await.unwrap().is_err());
    assert_eq!((bulkhead.in_flight(), limiter.in_flight()), (0, 0));
    assert_eq!(breaker.state(), State::Open, "a broken body is a failure");
}
