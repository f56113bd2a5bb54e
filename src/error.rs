//! The error every builder returns for a configuration it cannot accept.

use std::fmt;

/// A configuration value outside its accepted range. It names the field (as
/// in the builder method and the serde key) and the range.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// let err = CircuitBreaker::builder().failure_rate_threshold(0.0).build().unwrap_err();
/// assert_eq!(err.field(), "failure_rate_threshold");
/// assert_eq!(err.to_string(), "invalid failure_rate_threshold: 0, expected a percentage in (0, 100]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    value: String,
    expected: &'static str,
}

impl ConfigError {
    pub(crate) fn new(
        field: &'static str,
        value: impl fmt::Display,
        expected: &'static str,
    ) -> Self {
        Self {
            field,
            value: value.to_string(),
            expected,
        }
    }

    /// The field that was refused.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The refused value, as text.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the field accepts.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}: {}, expected {}",
            self.field, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}
