//! The sweep's plot: bytes fetched and latency against output size, log-log, native against
//! the TypeScript-style baseline (SVG through `plotters`, no fonts needed).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Medians of one output size, as the sweep measured them.
pub struct SweepPoint {
    /// Bytes the runner printed.
    pub stdout: u64,
    /// The log rendered once with timestamp prefixes.
    pub rendered: u64,
    /// Runner-log bytes the API served to the native driver (median).
    pub native_bytes: f64,
    /// Runner-log bytes the API served to the baseline (median).
    pub baseline_bytes: f64,
    /// Harvest exit → response, native (median, ms).
    pub native_ms: f64,
    /// Harvest exit → response, baseline (median, ms).
    pub baseline_ms: f64,
    /// Harvest exit → the native flow emitted its response, before the deletes (median, ms).
    pub native_emitted_ms: f64,
}

const NATIVE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const BASELINE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const EMITTED: RGBColor = RGBColor(0x17, 0xbe, 0xcf);
const ONCE: RGBColor = RGBColor(0x70, 0x70, 0x70);

/// A line of a panel: its legend, its stroke, its value at a point, and whether each point
/// gets a dot (filled, in the stroke's colour).
struct Line {
    name: &'static str,
    style: ShapeStyle,
    dots: bool,
    y: fn(&SweepPoint) -> f64,
}

impl Line {
    /// A measured line: 2 px, a dot at every point.
    fn measured(name: &'static str, color: RGBColor, y: fn(&SweepPoint) -> f64) -> Line {
        Line { name, style: color.stroke_width(2), dots: true, y }
    }
}

/// One of the two log-log charts: stdout printed (x) against one measure (y).
struct Panel {
    caption: &'static str,
    y_desc: &'static str,
    y_label: fn(&f64) -> String,
    /// The lowest value is divided by this for the lower end of the y axis (before it is taken
    /// down to a power of ten).
    room_below: f64,
    /// Drawn in this order (the first one under the others), listed in the legend in it too.
    lines: Vec<Line>,
}

fn size_label(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{} MiB", (bytes / (1024.0 * 1024.0)).round())
    } else {
        format!("{} KiB", (bytes / 1024.0).round())
    }
}

/// Decimal units: the y axes' ticks are powers of ten.
fn bytes_label(bytes: f64) -> String {
    match bytes {
        b if b >= 1e9 => format!("{} GB", b / 1e9),
        b if b >= 1e6 => format!("{} MB", b / 1e6),
        b => format!("{} kB", b / 1e3),
    }
}

fn decade_range(lo: f64, hi: f64) -> std::ops::Range<f64> {
    10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil())
}

/// Writes the two panels side by side into one SVG file at `path`.
pub fn render(points: &[SweepPoint], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let bytes = Panel {
        caption: "Runner-log bytes served by the API",
        y_desc: "bytes served (median)",
        y_label: |v| bytes_label(*v),
        room_below: 1.0,
        lines: vec![
            // Drawn first and wide, so that the native line on top of it stays visible.
            Line {
                name: "the log rendered once (stdout + timestamp prefixes)",
                style: ONCE.mix(0.4).stroke_width(8),
                dots: false,
                y: |p| p.rendered as f64,
            },
            Line::measured("TypeScript-style (reads from the head every 500 ms)", BASELINE, |p| {
                p.baseline_bytes
            }),
            Line::measured("native (one follow stream)", NATIVE, |p| p.native_bytes),
        ],
    };
    // A median of 0 ms has no place on a log axis: 0.1 ms stands for it.
    let latency = Panel {
        caption: "Harvest exit → response (median)",
        y_desc: "ms after the harvest's exit (median)",
        y_label: |v| format!("{v}"),
        room_below: 2.0,
        lines: vec![
            Line::measured("TypeScript-style (polls every 500 ms)", BASELINE, |p| {
                p.baseline_ms.max(0.1)
            }),
            Line::measured(
                "native: execute() returns (after deleting Pod and Secret)",
                NATIVE,
                |p| p.native_ms.max(0.1),
            ),
            Line::measured("native: the flow emits the response", EMITTED, |p| {
                p.native_emitted_ms.max(0.1)
            }),
        ],
    };
    draw_panel(&left, points, &bytes)?;
    draw_panel(&right, points, &latency)?;
    root.present()?;
    Ok(())
}

/// Draws `panel` on `area`: axes, mesh, its lines over `points`, its legend.
fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    points: &[SweepPoint],
    panel: &Panel,
) -> Result<(), Box<dyn std::error::Error>> {
    let xs = || points.iter().map(|p| p.stdout as f64);
    let x_lo = xs().fold(f64::INFINITY, f64::min) / 1.5;
    let x_hi = xs().fold(0.0, f64::max) * 1.5;
    let values = points.iter().flat_map(|p| panel.lines.iter().map(move |line| (line.y)(p)));
    let (y_lo, y_hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(
            (x_lo..x_hi).log_scale().with_key_points(xs().collect()),
            decade_range(y_lo / panel.room_below, y_hi).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("stdout printed")
        .y_desc(panel.y_desc)
        .x_label_formatter(&|v| size_label(*v))
        .y_label_formatter(&panel.y_label)
        .draw()?;
    for line in &panel.lines {
        let data: Vec<(f64, f64)> = points.iter().map(|p| (p.stdout as f64, (line.y)(p))).collect();
        let style = line.style;
        chart
            .draw_series(LineSeries::new(data.clone(), style))?
            .label(line.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        if line.dots {
            chart
                .draw_series(data.into_iter().map(|xy| Circle::new(xy, 4, style.color.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
