//! The balancer's rejection.

use std::fmt;

/// No endpoint could take the call: the set is empty, or every endpoint is
/// removed, ejected or refused by its gates. Returned at once, never after
/// an unbounded wait; downcast it from the service's `BoxError`.
///
/// ```
/// use seawall::balance::{Chooser, Unavailable};
/// let mut chooser: Chooser<u8, ()> = Chooser::builder().build()?;
/// let err = chooser.pick().unwrap_err();
/// assert_eq!(err.to_string(), "no endpoint in the set");
/// let boxed: seawall::BoxError = Box::new(err);
/// assert!(boxed.downcast_ref::<Unavailable>().is_some());
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable {
    empty: bool,
}

impl Unavailable {
    pub(crate) fn no_endpoints() -> Self {
        Self { empty: true }
    }

    pub(crate) fn all_refusing() -> Self {
        Self { empty: false }
    }

    /// Whether the set held no endpoint at all (rather than none usable).
    pub fn is_empty_set(&self) -> bool {
        self.empty
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.empty {
            "no endpoint in the set"
        } else {
            "no endpoint available"
        })
    }
}

impl std::error::Error for Unavailable {}
