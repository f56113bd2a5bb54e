//! Configuration: every invalid value is refused with an error naming its
//! field and range; defaults follow resilience4j; with feature `serde` a
//! configuration reads from TOML, validated the same way.

use std::time::Duration;

use seawall::breaker::{
    Backoff, Builder, CircuitBreaker, Config, Policy, MAX_COUNT_WINDOW, MAX_HALF_OPEN_PROBES,
    MAX_TIME_WINDOW,
};
use seawall::clock::ManualClock;
use seawall::ConfigError;

fn base() -> Builder {
    CircuitBreaker::builder().clock(ManualClock::new())
}

/// Builds, expecting a refusal of `field`; the message names the field and
/// the accepted range.
#[track_caller]
fn refused(builder: Builder, field: &str, expected: &str) -> ConfigError {
    let err = builder.build().expect_err("the configuration is invalid");
    assert_eq!(err.field(), field, "{err}");
    assert_eq!(err.expected(), expected, "{err}");
    let text = err.to_string();
    assert!(text.contains(field) && text.contains(expected), "{text}");
    assert!(text.contains(err.value()), "{text}");
    err
}

#[track_caller]
fn accepted(builder: Builder) -> CircuitBreaker {
    builder.build().expect("the configuration is valid")
}

const PERCENT: &str = "a percentage in (0, 100]";
const POSITIVE: &str = "a duration greater than zero";

#[test]
fn failure_rate_threshold_must_be_a_percentage() {
    for bad in [
        0.0,
        -0.0,
        -1.0,
        100.5,
        101.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ] {
        refused(
            base().failure_rate_threshold(bad),
            "failure_rate_threshold",
            PERCENT,
        );
    }
    let err = refused(
        base().failure_rate_threshold(101.0),
        "failure_rate_threshold",
        PERCENT,
    );
    assert_eq!(err.value(), "101");
    assert_eq!(
        err.to_string(),
        "invalid failure_rate_threshold: 101, expected a percentage in (0, 100]"
    );
    for good in [f32::MIN_POSITIVE, 0.5, 50.0, 100.0] {
        let b = accepted(base().failure_rate_threshold(good));
        assert_eq!(b.config().failure_rate_threshold(), good);
    }
}

#[test]
fn slow_call_rate_threshold_must_be_a_percentage() {
    for bad in [0.0, -1.0, 101.0, f32::NAN, f32::INFINITY] {
        refused(
            base().slow_call_rate_threshold(bad),
            "slow_call_rate_threshold",
            PERCENT,
        );
    }
    for good in [1.0, 100.0] {
        accepted(base().slow_call_rate_threshold(good));
    }
}

#[test]
fn slow_call_duration_threshold_must_be_positive() {
    let err = refused(
        base().slow_call_duration_threshold(Duration::ZERO),
        "slow_call_duration_threshold",
        POSITIVE,
    );
    assert_eq!(err.value(), "0ns");
    let b = accepted(base().slow_call_duration_threshold(Duration::from_nanos(1)));
    assert_eq!(
        b.config().slow_call_duration_threshold(),
        Some(Duration::from_nanos(1))
    );
}

#[test]
fn minimum_number_of_calls_must_be_at_least_one() {
    refused(
        base().minimum_number_of_calls(0),
        "minimum_number_of_calls",
        "a number of at least 1",
    );
    accepted(base().minimum_number_of_calls(1));
    accepted(base().minimum_number_of_calls(u32::MAX));
}

#[test]
fn count_window_size_must_be_in_range() {
    assert_eq!(MAX_COUNT_WINDOW, 30_000);
    for bad in [0, MAX_COUNT_WINDOW + 1, u32::MAX] {
        let err = refused(
            base().count_window(bad),
            "policy.size",
            "a number in 1..=30000",
        );
        assert_eq!(err.value(), bad.to_string());
    }
    for good in [1, MAX_COUNT_WINDOW] {
        let b = accepted(base().count_window(good));
        assert_eq!(b.config().policy(), Policy::CountWindow { size: good });
    }
}

#[test]
fn time_window_length_must_be_in_range() {
    assert_eq!(MAX_TIME_WINDOW, 3_600);
    for bad in [0, MAX_TIME_WINDOW + 1] {
        refused(
            base().time_window(bad),
            "policy.seconds",
            "a number in 1..=3600",
        );
    }
    for good in [1, MAX_TIME_WINDOW] {
        accepted(base().time_window(good));
    }
}

#[test]
fn consecutive_threshold_must_be_at_least_one() {
    refused(
        base().consecutive_failures(0),
        "policy.threshold",
        "a number of at least 1",
    );
    accepted(base().consecutive_failures(1));
    let b = accepted(base().policy(Policy::ConsecutiveFailures { threshold: 7 }));
    assert_eq!(
        b.config().policy(),
        Policy::ConsecutiveFailures { threshold: 7 }
    );
}

#[test]
fn fixed_wait_must_be_positive() {
    refused(
        base().wait_duration_in_open_state(Duration::ZERO),
        "wait_duration_in_open_state",
        POSITIVE,
    );
    refused(
        base().backoff(Backoff::fixed(Duration::ZERO)),
        "wait_duration_in_open_state",
        POSITIVE,
    );
    accepted(base().wait_duration_in_open_state(Duration::from_millis(1)));
}

#[test]
fn exponential_backoff_is_validated() {
    let s = Duration::from_secs;
    refused(
        base().backoff(Backoff::exponential(Duration::ZERO, 2.0, s(10))),
        "wait_duration_in_open_state.initial",
        POSITIVE,
    );
    for bad in [0.5, 0.0, -2.0, 1e7, f64::NAN, f64::INFINITY] {
        refused(
            base().backoff(Backoff::exponential(s(1), bad, s(10))),
            "wait_duration_in_open_state.multiplier",
            "a number in [1, 1000000]",
        );
    }
    refused(
        base().backoff(Backoff::exponential(s(10), 2.0, s(5))),
        "wait_duration_in_open_state.max",
        "a duration at least the initial wait",
    );
    for bad in [1.0, 1.5, -0.1, f64::NAN] {
        refused(
            base().backoff(Backoff::exponential(s(1), 2.0, s(10)).with_jitter(bad)),
            "wait_duration_in_open_state.jitter",
            "a factor in [0, 1)",
        );
    }
    accepted(base().backoff(Backoff::exponential(s(1), 1.0, s(1))));
    accepted(base().backoff(Backoff::exponential(s(1), 1e6, s(10)).with_jitter(0.0)));
    accepted(base().backoff(Backoff::exponential(s(1), 2.0, s(10)).with_jitter(0.999)));
}

#[test]
fn half_open_probes_must_be_in_range() {
    assert_eq!(MAX_HALF_OPEN_PROBES, 255);
    for bad in [0, 256, u32::MAX] {
        refused(
            base().permitted_number_of_calls_in_half_open_state(bad),
            "permitted_number_of_calls_in_half_open_state",
            "a number in 1..=255",
        );
    }
    for good in [1, 255] {
        accepted(base().permitted_number_of_calls_in_half_open_state(good));
    }
}

#[test]
fn max_half_open_wait_must_be_positive() {
    refused(
        base().max_wait_duration_in_half_open_state(Duration::ZERO),
        "max_wait_duration_in_half_open_state",
        POSITIVE,
    );
    let b = accepted(base().max_wait_duration_in_half_open_state(Duration::from_secs(1)));
    assert_eq!(
        b.config().max_wait_duration_in_half_open_state(),
        Some(Duration::from_secs(1))
    );
}

#[test]
fn defaults_follow_resilience4j() {
    let c = Config::default();
    assert_eq!(c.name(), "default");
    assert_eq!(c.policy(), Policy::CountWindow { size: 100 });
    assert_eq!(c.failure_rate_threshold(), 50.0);
    assert_eq!(c.slow_call_rate_threshold(), 100.0);
    assert_eq!(c.slow_call_duration_threshold(), None);
    assert_eq!(c.minimum_number_of_calls(), 100);
    assert_eq!(
        c.wait_duration_in_open_state(),
        Backoff::Fixed(Duration::from_secs(60))
    );
    assert_eq!(c.permitted_number_of_calls_in_half_open_state(), 10);
    assert_eq!(c.max_wait_duration_in_half_open_state(), None);
    assert_eq!(c.seed(), None);
    let b = accepted(base());
    assert_eq!(*b.config(), c);
    assert_eq!(b.name(), "default");
    assert_eq!(*CircuitBreaker::new(Config::default()).config(), c);
}

#[test]
fn builder_settings_reach_the_config() {
    let b = accepted(
        base()
            .name("inventory")
            .time_window(30)
            .failure_rate_threshold(25.0)
            .slow_call_rate_threshold(80.0)
            .slow_call_duration_threshold(Duration::from_secs(2))
            .minimum_number_of_calls(20)
            .backoff(Backoff::exponential(
                Duration::from_secs(1),
                2.0,
                Duration::from_secs(60),
            ))
            .permitted_number_of_calls_in_half_open_state(5)
            .max_wait_duration_in_half_open_state(Duration::from_secs(30))
            .seed(42),
    );
    let c = b.config();
    assert_eq!(b.name(), "inventory");
    assert_eq!(c.policy(), Policy::TimeWindow { seconds: 30 });
    assert_eq!(c.failure_rate_threshold(), 25.0);
    assert_eq!(c.slow_call_rate_threshold(), 80.0);
    assert_eq!(
        c.slow_call_duration_threshold(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(c.minimum_number_of_calls(), 20);
    assert_eq!(
        c.wait_duration_in_open_state(),
        Backoff::Exponential {
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(60),
            jitter: 0.0,
        }
    );
    assert_eq!(c.permitted_number_of_calls_in_half_open_state(), 5);
    assert_eq!(
        c.max_wait_duration_in_half_open_state(),
        Some(Duration::from_secs(30))
    );
    assert_eq!(c.seed(), Some(42));

    // A configuration carried over to another builder is the same.
    let again = accepted(base().config(c.clone()));
    assert_eq!(again.config(), c);
}

#[test]
fn backoff_waits() {
    let s = Duration::from_secs;
    let fixed = Backoff::fixed(s(30));
    assert_eq!(fixed.wait(1, 0), s(30));
    assert_eq!(fixed.wait(100, 12345), s(30));
    assert_eq!(fixed.with_jitter(0.0), fixed, "no jitter, still fixed");
    let jittered = fixed.with_jitter(0.5);
    assert_ne!(jittered, fixed, "a fixed wait takes jitter");
    for entropy in 0..32 {
        let w = jittered.wait(7, entropy);
        assert!(w >= s(15) && w <= s(45), "{w:?}");
    }

    let exp = Backoff::exponential(s(1), 2.0, s(60));
    let waits: Vec<_> = (1..=8).map(|a| exp.wait(a, 0)).collect();
    assert_eq!(waits, [s(1), s(2), s(4), s(8), s(16), s(32), s(60), s(60)]);
    assert_eq!(exp.wait(u32::MAX, 0), s(60), "huge attempts stay capped");

    let jittered = exp.with_jitter(0.25);
    for attempt in 1..=10 {
        for entropy in [0, 1, 42, u64::MAX] {
            let w = jittered.wait(attempt, entropy);
            let base = exp.wait(attempt, 0);
            // A microsecond of slack for floating point.
            let us = Duration::from_micros(1);
            let (low, high) = (
                base.mul_f64(0.75) - us,
                (base.mul_f64(1.25) + us).min(s(60)),
            );
            assert!(w >= low && w <= high, "{w:?} outside [{low:?}, {high:?}]");
            assert_eq!(w, jittered.wait(attempt, entropy), "a pure function");
        }
    }
}

#[cfg(feature = "serde")]
mod serde_config {
    use super::*;

    #[test]
    fn a_toml_config_deserializes() {
        let config: Config = toml::from_str(
            r#"
            name = "users"
            policy = { type = "time_window", seconds = 30 }
            failure_rate_threshold = 25.0
            slow_call_rate_threshold = 80.0
            slow_call_duration_threshold = "2s"
            minimum_number_of_calls = 20
            permitted_number_of_calls_in_half_open_state = 3
            max_wait_duration_in_half_open_state = "1m 30s"
            seed = 7

            [wait_duration_in_open_state]
            initial = "500ms"
            multiplier = 2.0
            max = "1m"
            jitter = 0.1
            "#,
        )
        .unwrap();
        assert_eq!(config.name(), "users");
        assert_eq!(config.policy(), Policy::TimeWindow { seconds: 30 });
        assert_eq!(config.failure_rate_threshold(), 25.0);
        assert_eq!(config.slow_call_rate_threshold(), 80.0);
        assert_eq!(
            config.slow_call_duration_threshold(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(config.minimum_number_of_calls(), 20);
        assert_eq!(config.permitted_number_of_calls_in_half_open_state(), 3);
        assert_eq!(
            config.max_wait_duration_in_half_open_state(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(config.seed(), Some(7));
        assert_eq!(
            config.wait_duration_in_open_state(),
            Backoff::Exponential {
                initial: Duration::from_millis(500),
                multiplier: 2.0,
                max: Duration::from_secs(60),
                jitter: 0.1,
            }
        );
    }

    #[test]
    fn missing_keys_take_the_defaults_and_a_fixed_wait_is_a_duration() {
        let config: Config = toml::from_str(r#"wait_duration_in_open_state = "30s""#).unwrap();
        let expected = Config::default();
        assert_eq!(
            config.wait_duration_in_open_state(),
            Backoff::Fixed(Duration::from_secs(30))
        );
        assert_eq!(config.policy(), expected.policy());
        assert_eq!(
            config.minimum_number_of_calls(),
            expected.minimum_number_of_calls()
        );

        let config: Config = toml::from_str(r#"name = "defaults""#).unwrap();
        assert_eq!(config.policy(), expected.policy());

        let config: Config = toml::from_str(
            r#"wait_duration_in_open_state = { initial = "1s", multiplier = 1.5, max = "10s" }"#,
        )
        .unwrap();
        assert_eq!(
            config.wait_duration_in_open_state(),
            Backoff::exponential(Duration::from_secs(1), 1.5, Duration::from_secs(10))
        );
    }

    #[test]
    fn every_policy_reads_from_toml() {
        for (text, policy) in [
            (
                r#"{ type = "count_window", size = 50 }"#,
                Policy::CountWindow { size: 50 },
            ),
            (
                r#"{ type = "time_window", seconds = 30 }"#,
                Policy::TimeWindow { seconds: 30 },
            ),
            (
                r#"{ type = "consecutive_failures", threshold = 5 }"#,
                Policy::ConsecutiveFailures { threshold: 5 },
            ),
        ] {
            let config: Config = toml::from_str(&format!("policy = {text}")).unwrap();
            assert_eq!(config.policy(), policy, "{text}");
        }
        assert!(toml::from_str::<Config>(r#"policy = { type = "sliding", size = 5 }"#).is_err());
    }

    #[track_caller]
    fn toml_error(text: &str) -> String {
        toml::from_str::<Config>(text)
            .expect_err("the configuration is invalid")
            .to_string()
    }

    #[test]
    fn invalid_values_are_refused_naming_the_field() {
        for (text, field) in [
            ("failure_rate_threshold = 0.0", "failure_rate_threshold"),
            ("failure_rate_threshold = 150.0", "failure_rate_threshold"),
            (
                "slow_call_rate_threshold = -5.0",
                "slow_call_rate_threshold",
            ),
            (
                r#"slow_call_duration_threshold = "0s""#,
                "slow_call_duration_threshold",
            ),
            ("minimum_number_of_calls = 0", "minimum_number_of_calls"),
            (
                r#"policy = { type = "count_window", size = 0 }"#,
                "policy.size",
            ),
            (
                r#"policy = { type = "count_window", size = 30001 }"#,
                "policy.size",
            ),
            (
                r#"policy = { type = "time_window", seconds = 3601 }"#,
                "policy.seconds",
            ),
            (
                r#"policy = { type = "consecutive_failures", threshold = 0 }"#,
                "policy.threshold",
            ),
            (
                r#"wait_duration_in_open_state = "0s""#,
                "wait_duration_in_open_state",
            ),
            (
                r#"wait_duration_in_open_state = { initial = "1s", multiplier = 0.5, max = "1m" }"#,
                "wait_duration_in_open_state.multiplier",
            ),
            (
                r#"wait_duration_in_open_state = { initial = "1m", multiplier = 2.0, max = "1s" }"#,
                "wait_duration_in_open_state.max",
            ),
            (
                r#"wait_duration_in_open_state = { initial = "1s", multiplier = 2.0, max = "1m", jitter = 1.0 }"#,
                "wait_duration_in_open_state.jitter",
            ),
            (
                "permitted_number_of_calls_in_half_open_state = 256",
                "permitted_number_of_calls_in_half_open_state",
            ),
            (
                r#"max_wait_duration_in_half_open_state = "0s""#,
                "max_wait_duration_in_half_open_state",
            ),
        ] {
            let message = toml_error(text);
            assert!(message.contains(field), "{text}: {message}");
        }
        let message = toml_error("failure_rate_threshold = 0.0");
        assert!(message.contains("a percentage in (0, 100]"), "{message}");
    }

    #[test]
    fn a_key_of_another_policy_is_refused() {
        let message = toml_error(r#"policy = { type = "count_window", size = 10, seconds = 5 }"#);
        assert!(message.contains("unknown field `seconds`"), "{message}");
    }

    #[test]
    fn nothing_is_not_a_configuration() {
        for text in ["", "# only a comment\n"] {
            let message = toml_error(text);
            assert!(
                message.contains("at least one setting"),
                "{text:?}: {message}"
            );
        }
        for json in ["[]", "{}", "null", "42"] {
            let err = serde_json::from_str::<Config>(json).expect_err(json);
            assert!(!err.to_string().contains("untagged"), "{json}: {err}");
        }
        let err = serde_json::from_str::<Config>("[]").unwrap_err();
        assert!(err.to_string().contains("a table of settings"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_named_wherever_it_is() {
        for (text, key) in [
            ("failure_rate = 50.0", "failure_rate"),
            (
                "automatic_transition_from_open_to_half_open_enabled = true",
                "automatic_transition_from_open_to_half_open_enabled",
            ),
            (
                r#"wait_duration_in_open_state = { initial = "1s", multiplier = 2.0, max = "1m", factor = 0.5 }"#,
                "factor",
            ),
            (
                r#"wait_duration_in_open_state = { inital = "1s" }"#,
                "inital",
            ),
            (r#"policy = { type = "count_window", sise = 10 }"#, "sise"),
        ] {
            let message = toml_error(text);
            assert!(
                message.contains(&format!("unknown field `{key}`")),
                "{text}: {message}"
            );
            assert!(!message.contains("untagged"), "{text}: {message}");
        }
    }

    #[test]
    fn an_out_of_range_value_names_its_field_and_line() {
        let message = toml_error(
            "name = \"users\"\nminimum_number_of_calls = 10\nfailure_rate_threshold = 150.0\n",
        );
        assert!(message.contains("line 3"), "{message}");
        assert!(
            message.contains("invalid failure_rate_threshold: 150"),
            "{message}"
        );

        let message = toml_error("name = \"users\"\n\n[wait_duration_in_open_state]\ninitial = \"1s\"\nmultiplier = 0.5\nmax = \"1m\"\n");
        assert!(
            message.contains("wait_duration_in_open_state.multiplier"),
            "{message}"
        );
        assert!(message.contains("line 3"), "{message}");
    }

    #[test]
    fn resilience4j_window_keys_are_accepted() {
        for (text, policy) in [
            ("sliding_window_size = 50", Policy::CountWindow { size: 50 }),
            (
                "sliding_window_type = \"COUNT_BASED\"\nsliding_window_size = 20",
                Policy::CountWindow { size: 20 },
            ),
            (
                "sliding_window_type = \"TIME_BASED\"\nsliding_window_size = 30",
                Policy::TimeWindow { seconds: 30 },
            ),
            (
                "sliding_window_type = \"TIME_BASED\"",
                Policy::TimeWindow { seconds: 100 },
            ),
        ] {
            let config: Config = toml::from_str(text).unwrap();
            assert_eq!(config.policy(), policy, "{text}");
        }
        let message =
            toml_error("sliding_window_type = \"TIME_BASED\"\nsliding_window_size = 7200");
        assert!(
            message.contains("invalid sliding_window_size: 7200"),
            "{message}"
        );
        let message =
            toml_error("sliding_window_size = 10\npolicy = { type = \"count_window\", size = 10 }");
        assert!(message.contains("either policy or"), "{message}");
        let message = toml_error("sliding_window_type = \"SESSION_BASED\"");
        assert!(message.contains("COUNT_BASED"), "{message}");
    }

    #[test]
    fn jitter_on_a_fixed_wait_is_honoured() {
        let config: Config =
            toml::from_str(r#"wait_duration_in_open_state = { initial = "10s", jitter = 0.5 }"#)
                .unwrap();
        let backoff = config.wait_duration_in_open_state();
        assert_eq!(
            backoff,
            Backoff::fixed(Duration::from_secs(10)).with_jitter(0.5)
        );
        let waits: Vec<Duration> = (0..64).map(|e| backoff.wait(1, e)).collect();
        assert!(waits
            .iter()
            .all(|w| (5.0..=15.0).contains(&w.as_secs_f64())));
        assert!(
            waits.iter().any(|w| *w != Duration::from_secs(10)),
            "jitter applied"
        );
        // Without jitter, a table with only `initial` is a plain fixed wait.
        let config: Config =
            toml::from_str(r#"wait_duration_in_open_state = { initial = "10s" }"#).unwrap();
        assert_eq!(
            config.wait_duration_in_open_state(),
            Backoff::fixed(Duration::from_secs(10))
        );
        // A growing wait needs its cap.
        let message =
            toml_error(r#"wait_duration_in_open_state = { initial = "1s", multiplier = 2.0 }"#);
        assert!(
            message.contains("wait_duration_in_open_state.max"),
            "{message}"
        );
    }

    #[test]
    fn malformed_durations_are_refused() {
        toml_error(r#"slow_call_duration_threshold = "soon""#);
        toml_error("slow_call_duration_threshold = 5");
    }

    #[test]
    fn a_config_read_from_toml_drives_a_breaker() {
        use seawall::breaker::State;
        use seawall::classify::Outcome;

        let config: Config = toml::from_str(
            r#"
            name = "from-file"
            policy = { type = "consecutive_failures", threshold = 2 }
            wait_duration_in_open_state = "5s"
            permitted_number_of_calls_in_half_open_state = 1
            "#,
        )
        .unwrap();
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::builder()
            .config(config)
            .clock(clock.clone())
            .build()
            .unwrap();
        assert_eq!(breaker.name(), "from-file");
        breaker.try_acquire().unwrap().record(Outcome::Failure);
        breaker.try_acquire().unwrap().record(Outcome::Failure);
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(
            breaker.try_acquire().unwrap_err().retry_after(),
            Some(Duration::from_secs(5))
        );
        clock.advance(Duration::from_secs(5) + Duration::from_millis(1));
        breaker.try_acquire().unwrap().record(Outcome::Success);
        assert_eq!(breaker.state(), State::Closed);
    }

    #[test]
    fn a_config_round_trips_through_serde() {
        let config = CircuitBreaker::builder()
            .name("round-trip")
            .count_window(20)
            .failure_rate_threshold(30.0)
            .slow_call_duration_threshold(Duration::from_millis(1500))
            .backoff(
                Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(30))
                    .with_jitter(0.25),
            )
            .max_wait_duration_in_half_open_state(Duration::from_secs(10))
            .seed(9)
            .build()
            .unwrap()
            .config()
            .clone();
        let json = serde_json::to_string(&config).unwrap();
        let back: Config = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config, "{json}");
        let text = toml::to_string(&config).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config, "{text}");

        let fixed = Config::default();
        let back: Config = serde_json::from_str(&serde_json::to_string(&fixed).unwrap()).unwrap();
        assert_eq!(back, fixed);
    }

    #[test]
    fn json_is_validated_too() {
        let err = serde_json::from_str::<Config>(
            r#"{"permitted_number_of_calls_in_half_open_state": 0}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("permitted_number_of_calls_in_half_open_state"),
            "{err}"
        );
    }
}
