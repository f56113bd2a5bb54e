//! The timeline chart as hand-written SVG: success rate and p99 of served
//! calls over time, both stacks, phases marked.

use std::fmt::Write;
use std::time::Duration;

use super::stats::Bucket;

const W: f64 = 900.0;
const PLOT_H: f64 = 180.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;

pub struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub buckets: &'a [Bucket],
}

/// `phases`: name and start of each phase; `end`: the timeline's length.
pub fn svg(
    series: &[Series<'_>],
    phases: &[(&str, Duration)],
    end: Duration,
    width: Duration,
) -> String {
    let total = end.as_secs_f64().max(1e-3);
    let x = |t: f64| LEFT + (W - LEFT - RIGHT) * t / total;
    let p99_max = series
        .iter()
        .flat_map(|s| s.buckets.iter().filter_map(|b| b.p99_ms))
        .fold(100.0, f64::max);
    let mut out = String::new();
    let height = 2.0 * PLOT_H + 120.0;
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels = [
        ("success rate (%)", 30.0, 100.0),
        ("p99 of served calls (ms)", 60.0 + PLOT_H, p99_max),
    ];
    for (i, (title, top, max)) in panels.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{title}</text>"#,
            top - 8.0
        );
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{PLOT_H}" fill="none" stroke="#999"/>"##,
            W - LEFT - RIGHT
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{max:.0}</text>"#,
            LEFT - 4.0,
            top + 10.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">0</text>"#,
            LEFT - 4.0,
            top + PLOT_H
        );
        for (name, start) in phases {
            let px = x(start.as_secs_f64());
            let _ = writeln!(
                out,
                r##"<line x1="{px:.1}" y1="{top}" x2="{px:.1}" y2="{}" stroke="#bbb" stroke-dasharray="4 3"/>"##,
                top + PLOT_H
            );
            if i == 0 {
                let _ = writeln!(
                    out,
                    r##"<text x="{:.1}" y="{}" fill="#555">{name}</text>"##,
                    px + 4.0,
                    top + 14.0
                );
            }
        }
        for s in series {
            let points: Vec<String> = s
                .buckets
                .iter()
                .filter_map(|b| {
                    let v = if i == 0 { Some(b.success) } else { b.p99_ms };
                    v.map(|v| {
                        let t = b.start.as_secs_f64() + width.as_secs_f64() / 2.0;
                        format!(
                            "{:.1},{:.1}",
                            x(t),
                            top + PLOT_H * (1.0 - (v / max).min(1.0))
                        )
                    })
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
                s.color,
                points.join(" ")
            );
        }
    }
    let legend_y = 2.0 * PLOT_H + 100.0;
    for (k, s) in series.iter().enumerate() {
        let lx = LEFT + 160.0 * k as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{legend_y}">{}</text>"#,
            legend_y - 5.0,
            s.color,
            lx + 20.0,
            s.label
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{legend_y}" text-anchor="end">time (s), 0 – {total:.0}</text>"#,
        W - RIGHT
    );
    out.push_str("</svg>\n");
    out
}
