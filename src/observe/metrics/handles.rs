//! Each layer's handles: registered at an instance's first event, kept for
//! the next ones.

#[cfg(feature = "breaker")]
pub(super) mod breaker {
    use ::metrics::{counter, gauge, Counter, Gauge};

    use crate::breaker::State;
    use crate::observe::metrics::Labelled;

    const STATES: usize = State::ALL.len();

    /// One breaker's handles.
    #[derive(Debug)]
    pub(crate) struct Handles {
        name: Box<str>,
        pub(crate) state: Gauge,
        pub(crate) resets: Counter,
        rejections: Labelled<STATES>,
        transitions: Labelled<{ STATES * STATES }>,
    }

    impl Handles {
        pub(crate) fn new(name: &str) -> Self {
            Self {
                name: name.into(),
                state: gauge!("seawall_breaker_state", "breaker" => name.to_owned()),
                resets: counter!("seawall_breaker_resets_total", "breaker" => name.to_owned()),
                rejections: Labelled::new(),
                transitions: Labelled::new(),
            }
        }

        pub(crate) fn rejection(&self, state: State) -> &Counter {
            self.rejections.get(usize::from(state.code()), || {
                counter!(
                    "seawall_breaker_rejections_total",
                    "breaker" => self.name.to_string(),
                    "state" => state.as_str()
                )
            })
        }

        pub(crate) fn transition(&self, from: State, to: State) -> &Counter {
            let i = usize::from(from.code()) * STATES + usize::from(to.code());
            self.transitions.get(i, || {
                counter!(
                    "seawall_breaker_transitions_total",
                    "breaker" => self.name.to_string(),
                    "from" => from.as_str(),
                    "to" => to.as_str()
                )
            })
        }
    }
}

#[cfg(feature = "bulkhead")]
pub(super) mod bulkhead {
    use ::metrics::{counter, gauge, Counter, Gauge};

    use crate::bulkhead::Rejection;
    use crate::observe::metrics::Labelled;

    /// One bulkhead's handles.
    #[derive(Debug)]
    pub(crate) struct Handles {
        name: Box<str>,
        pub(crate) max: Gauge,
        rejections: Labelled<2>,
    }

    impl Handles {
        pub(crate) fn new(name: &str) -> Self {
            Self {
                name: name.into(),
                max: gauge!("seawall_bulkhead_max_concurrent_calls", "bulkhead" => name.to_owned()),
                rejections: Labelled::new(),
            }
        }

        pub(crate) fn rejection(&self, reason: Rejection) -> &Counter {
            let i = match reason {
                Rejection::Full => 0,
                Rejection::WaitTimedOut => 1,
            };
            self.rejections.get(i, || {
                counter!(
                    "seawall_bulkhead_rejections_total",
                    "bulkhead" => self.name.to_string(),
                    "reason" => reason.as_str()
                )
            })
        }
    }
}

#[cfg(feature = "limit")]
pub(super) mod limiter {
    use std::time::Duration;

    use ::metrics::{counter, gauge, Counter, Gauge};

    use crate::observe::limit_reason;
    use crate::observe::metrics::{Labelled, Registry};

    /// One limiter's handles; the rejections of calls in a partition are
    /// apart, by partition name.
    #[derive(Debug)]
    pub(crate) struct Handles {
        name: Box<str>,
        pub(crate) limit: Gauge,
        rejections: Labelled<2>,
        partitions: Registry<Labelled<2>>,
    }

    impl Handles {
        pub(crate) fn new(name: &str) -> Self {
            Self {
                name: name.into(),
                limit: gauge!("seawall_limiter_limit", "limiter" => name.to_owned()),
                rejections: Labelled::new(),
                partitions: Registry::default(),
            }
        }

        /// Counts one refusal, apart by partition and reason.
        pub(crate) fn count_rejection(&self, partition: Option<&str>, waited: Option<Duration>) {
            let reason = limit_reason(waited);
            let i = usize::from(waited.is_some());
            let name = &*self.name;
            let count = |counters: &Labelled<2>| {
                counters
                    .get(i, || register(name, partition, reason))
                    .increment(1)
            };
            match partition {
                None => count(&self.rejections),
                Some(p) => self.partitions.with(p, |_| Labelled::new(), count),
            }
        }
    }

    fn register(name: &str, partition: Option<&str>, reason: &'static str) -> Counter {
        let name = name.to_owned();
        match partition {
            None => {
                counter!("seawall_limiter_rejections_total", "limiter" => name, "reason" => reason)
            }
            Some(p) => counter!(
                "seawall_limiter_rejections_total",
                "limiter" => name,
                "reason" => reason,
                "partition" => p.to_owned()
            ),
        }
    }
}

#[cfg(feature = "balance")]
pub(super) mod balancer {
    use ::metrics::{counter, gauge, Counter, Gauge};

    use crate::balance::EjectionReason;
    use crate::observe::metrics::{Labelled, Registry};

    /// One balancer's handles, by endpoint.
    #[derive(Debug)]
    pub(crate) struct Handles {
        pub(crate) name: Box<str>,
        endpoints: Registry<Endpoint>,
    }

    impl Handles {
        pub(crate) fn new(name: &str) -> Self {
            Self {
                name: name.into(),
                endpoints: Registry::default(),
            }
        }

        /// An endpoint left: it no longer counts as ejected, and its
        /// handles go (the recorder keeps its series, at 0).
        pub(crate) fn forget(&self, endpoint: &str) {
            self.endpoints.forget(endpoint, |e| e.ejected.set(0.0))
        }

        pub(crate) fn endpoint(&self, endpoint: &str, f: impl FnOnce(&Endpoint)) {
            self.endpoints
                .with(endpoint, |endpoint| Endpoint::new(&self.name, endpoint), f)
        }
    }

    /// One endpoint's handles.
    #[derive(Debug)]
    pub(crate) struct Endpoint {
        pub(crate) ejected: Gauge,
        ejections: Labelled<2>,
    }

    impl Endpoint {
        fn new(balancer: &str, endpoint: &str) -> Self {
            Self {
                ejected: gauge!(
                    "seawall_balancer_endpoint_ejected",
                    "balancer" => balancer.to_owned(),
                    "endpoint" => endpoint.to_owned()
                ),
                ejections: Labelled::new(),
            }
        }

        pub(crate) fn ejection(
            &self,
            balancer: &str,
            endpoint: &str,
            reason: EjectionReason,
        ) -> &Counter {
            let i = match reason {
                EjectionReason::ConsecutiveFailures => 0,
                EjectionReason::SuccessRate => 1,
            };
            self.ejections.get(i, || {
                counter!(
                    "seawall_balancer_ejections_total",
                    "balancer" => balancer.to_owned(),
                    "endpoint" => endpoint.to_owned(),
                    "reason" => reason.as_str()
                )
            })
        }
    }
}
