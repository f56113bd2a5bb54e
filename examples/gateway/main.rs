//! The reference gateway: a reverse proxy built from seawall's layers.
//!
//! ```text
//! cargo run --release --example gateway --features full                 # demo backends, default config
//! cargo run --release --example gateway --features full -- --config examples/gateway/gateway.toml
//! cargo run --release --example gateway --features full -- --stack naive  # the layers removed
//! ```

mod app;

use std::time::Duration;

use app::backend::{Backend, BackendSpec};
use app::config::{Config, StackKind};
use app::gateway::{self, Options};
use metrics_exporter_prometheus::PrometheusBuilder;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Default)]
struct Args {
    config: Option<String>,
    stack: Option<StackKind>,
    listen: Option<std::net::SocketAddr>,
    demo_service_time: Option<Duration>,
}

fn args() -> Result<Args, Error> {
    let mut out = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => out.config = Some(value()?),
            "--listen" => out.listen = Some(value()?.parse()?),
            "--demo-service-time" => {
                out.demo_service_time =
                    Some(humantime_serde::re::humantime::parse_duration(&value()?)?)
            }
            "--stack" => {
                out.stack = Some(match value()?.as_str() {
                    "naive" => StackKind::Naive,
                    "seawall" => StackKind::Seawall,
                    other => {
                        return Err(
                            format!("--stack: `{other}` is neither `seawall` nor `naive`").into(),
                        )
                    }
                })
            }
            "-h" | "--help" => {
                println!("usage: gateway [--config PATH] [--stack seawall|naive] [--listen ADDR] [--demo-service-time 5ms]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    Ok(out)
}

/// The built-in configuration: three demo backends on loopback behind one
/// route each way.
fn demo_config(backends: &[Backend]) -> String {
    let list = |b: &[Backend]| {
        b.iter()
            .map(|b| format!("\"{}\"", b.addr))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"
[server]
listen = "127.0.0.1:8080"

[[route]]
prefix = "/api"
pool = "api"
timeout = "2s"
max_concurrency = 256

[[route]]
prefix = "/"
pool = "web"
timeout = "5s"
max_concurrency = 64

[pool.api]
endpoints = [{api}]
max_concurrency_per_endpoint = 48

[pool.web]
endpoints = [{web}]
"#,
        api = list(&backends[..2]),
        web = list(&backends[2..]),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = args()?;
    let mut demo = Vec::new();
    let text = match &args.config {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => {
            for name in ["api-1", "api-2", "web-1"] {
                demo.push(
                    Backend::spawn(BackendSpec::new(name, 32, Duration::from_millis(5))).await?,
                );
            }
            demo_config(&demo)
        }
    };
    let origin = args.config.as_deref().unwrap_or("built-in configuration");
    let mut config = Config::parse(&text).map_err(|e| format!("{origin}: {e}"))?;
    if let Some(stack) = args.stack {
        config.stack = stack;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    let options = Options {
        metrics: Some(handle),
        seed: 0x005e_aa11,
        ..Options::default()
    };
    let running = gateway::start(config, options).await?;
    let addr = running.addr;
    println!(
        "seawall gateway ({origin}, {:?} stack) on http://{addr}",
        running.gateway.config.stack
    );
    if !demo.is_empty() {
        println!(
            "demo backends: {}",
            demo.iter()
                .map(|b| b.addr.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("  browser: http://{addr}/status.html");
    println!("  curl:    curl -i http://{addr}/api/hello");
    println!("           curl -s http://{addr}/status");
    println!("           curl -s http://{addr}/metrics");
    println!("Ctrl-C stops: in-flight requests finish, new ones are refused");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    running.shutdown().await;
    Ok(())
}
