//! One run of the scenario through one stack: fresh backends, a gateway
//! started from the scenario's configuration, the phases of load, and what
//! the backends saw in each phase.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seawall::BoxError;

use super::app::backend::{Backend, Mode};
use super::app::config::{Config, StackKind};
use super::app::gateway::{self, Options};
use super::load::{self, Progress, Record};
use super::scenario::Scenario;

/// What one backend saw during one phase.
#[derive(Debug, Clone)]
pub struct BackendPhase {
    pub name: String,
    pub calls: u64,
    pub peak: u32,
    pub capacity: u32,
}

#[derive(Debug)]
pub struct StackRun {
    pub stack: StackKind,
    pub records: Vec<Record>,
    /// When each phase's sending began and ended, since the run began.
    pub spans: Vec<(Duration, Duration)>,
    /// Per phase, per backend.
    pub backends: Vec<Vec<BackendPhase>>,
    /// How much longer than asked the backends' workers took (1.0 on an
    /// idle machine): the replay judges against the capacity they really had.
    pub slowdown: f64,
}

pub async fn run_stack(
    scenario: &Scenario,
    stack: StackKind,
    verbose: bool,
) -> Result<StackRun, BoxError> {
    let mut backends = Vec::new();
    for spec in &scenario.backends {
        backends.push(Backend::spawn(spec.clone()).await?);
    }
    let addrs: Vec<_> = backends.iter().map(|b| b.addr).collect();
    let config = Config::parse(&scenario.config(stack, &addrs))?;
    let options = Options {
        seed: scenario.seed,
        ..Options::default()
    };
    let running = gateway::start(config, options).await?;
    let client = load::client();
    let records = Arc::new(Mutex::new(Vec::new()));
    let mut rng = fastrand::Rng::with_seed(scenario.seed);
    let mut tasks = Vec::new();
    let mut spans = Vec::new();
    let mut per_phase = Vec::new();
    let origin = Instant::now();
    for (i, phase) in scenario.phases.iter().enumerate() {
        for (j, b) in backends.iter().enumerate() {
            b.set_mode(if phase.failing == Some(j) {
                Mode::Failing
            } else {
                Mode::Healthy
            });
            b.stats.reset_peak();
        }
        let before: Vec<u64> = backends.iter().map(|b| b.stats.calls()).collect();
        let progress = Arc::new(Progress::default());
        let ticker = verbose.then(|| spawn_progress(stack, phase.name, progress.clone()));
        let began = origin.elapsed();
        let rate = scenario.rate(phase);
        load::send_phase(
            &client,
            running.addr,
            i,
            rate,
            phase.duration,
            origin,
            &mut rng,
            &records,
            &progress,
            &mut tasks,
        )
        .await;
        spans.push((began, origin.elapsed()));
        if let Some(t) = ticker {
            t.abort();
            println!();
        }
        per_phase.push(
            backends
                .iter()
                .zip(before)
                .map(|(b, before)| BackendPhase {
                    name: b.spec.name.clone(),
                    calls: b.stats.calls() - before,
                    peak: b.stats.peak.load(Ordering::Relaxed),
                    capacity: b.spec.capacity,
                })
                .collect(),
        );
    }
    for t in tasks {
        let _ = t.await;
    }
    running.shutdown().await;
    let busy: u64 = backends
        .iter()
        .map(|b| b.stats.busy_us.load(Ordering::Relaxed))
        .sum();
    let asked: u64 = backends
        .iter()
        .map(|b| b.stats.asked_us.load(Ordering::Relaxed))
        .sum();
    let slowdown = if asked == 0 {
        1.0
    } else {
        (busy as f64 / asked as f64).max(1.0)
    };
    let records = std::mem::take(&mut *records.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(StackRun {
        stack,
        records,
        spans,
        backends: per_phase,
        slowdown,
    })
}

fn spawn_progress(
    stack: StackKind,
    phase: &'static str,
    progress: Arc<Progress>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let began = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let done = progress.done.load(Ordering::Relaxed).max(1);
            let ok = progress.ok.load(Ordering::Relaxed);
            print!(
                "\r  {:<8} {:<9} {:>3}s  sent {:>6}  ok {:>5.1} %   ",
                format!("{stack:?}").to_lowercase(),
                phase,
                began.elapsed().as_secs(),
                progress.sent.load(Ordering::Relaxed),
                100.0 * ok as f64 / done as f64
            );
            let _ = std::io::stdout().flush();
        }
    })
}
