//! The reference gateway over loopback (filled in below).
