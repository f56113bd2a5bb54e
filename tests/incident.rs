//! The incident replay (filled in below).
