//! The incident of `INCIDENT.md` replayed on loopback: a skewed static split,
//! a load surge, one backend failing hard and coming back — through a naive
//! gateway and through the seawall gateway, with the same seeded open-loop
//! load. Prints per phase success, latency and backend load, checks the
//! targets, and writes an SVG timeline.
//!
//! ```text
//! cargo run --release --example incident --features full [-- --quick] [--out PATH]
//! ```

mod replay;

use std::path::PathBuf;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut quick = false;
    let mut out = PathBuf::from("target/incident.svg");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--out" => out = args.next().ok_or("--out needs a path")?.into(),
            other => {
                return Err(
                    format!("unknown argument `{other}` (expected --quick, --out PATH)").into(),
                )
            }
        }
    }
    let scenario = replay::scenario::Scenario::incident(quick);
    println!(
        "replaying the incident ({} mode): phases",
        if quick { "quick" } else { "full" }
    );
    for p in &scenario.phases {
        println!(
            "  {:<9} {:>3} s  offered {:>4.0} % of capacity ({:.0} calls/s){}",
            p.name,
            p.duration.as_secs(),
            100.0 * p.load,
            scenario.rate(p),
            p.failing.map_or(String::new(), |i| format!(
                ", {} fails every call",
                scenario.backends[i].name
            ))
        );
    }
    let outcome = replay::outcome::replay(quick, true).await?;
    println!("\r{:<70}", "");
    print!("{}", outcome.report());
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, outcome.svg())?;
    println!("\ntimeline chart: {}", out.display());
    if !outcome.passed() {
        return Err("some targets were missed".into());
    }
    Ok(())
}
