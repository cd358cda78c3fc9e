//! The sweep's plot: bytes fetched and latency against output size, log-log, native against
//! the TypeScript-style baseline (SVG through `plotters`, no fonts needed).

use std::path::Path;

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

/// A line of a panel: its legend, its colour, its value at a point.
type Series = (&'static str, RGBColor, fn(&SweepPoint) -> f64);

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
    let xs = || points.iter().map(|p| p.stdout as f64);
    let x_lo = xs().fold(f64::INFINITY, f64::min) / 1.5;
    let x_hi = xs().fold(0.0, f64::max) * 1.5;
    let x_axis = || (x_lo..x_hi).log_scale().with_key_points(xs().collect());

    // Bytes fetched.
    let all_bytes =
        points.iter().flat_map(|p| [p.rendered as f64, p.native_bytes, p.baseline_bytes]);
    let (b_lo, b_hi) =
        all_bytes.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&left)
        .caption("Runner-log bytes served by the API", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x_axis(), decade_range(b_lo, b_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("stdout printed")
        .y_desc("bytes served (median)")
        .x_label_formatter(&|v| size_label(*v))
        .y_label_formatter(&|v| bytes_label(*v))
        .draw()?;
    // Drawn first and wide, so that the native line on top of it stays visible.
    let once: Vec<(f64, f64)> =
        points.iter().map(|p| (p.stdout as f64, p.rendered as f64)).collect();
    let once_style = ONCE.mix(0.4).stroke_width(8);
    chart
        .draw_series(LineSeries::new(once, once_style))?
        .label("the log rendered once (stdout + timestamp prefixes)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], once_style));
    let series: [Series; 2] = [
        ("TypeScript-style (reads from the head every 500 ms)", BASELINE, |p| p.baseline_bytes),
        ("native (one follow stream)", NATIVE, |p| p.native_bytes),
    ];
    for (name, color, y) in &series {
        let data: Vec<(f64, f64)> = points.iter().map(|p| (p.stdout as f64, y(p))).collect();
        let color = *color;
        chart
            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(data.into_iter().map(|xy| Circle::new(xy, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    // Latency.
    let all_ms = points.iter().flat_map(|p| [p.native_ms, p.baseline_ms, p.native_emitted_ms]);
    let (l_lo, l_hi) = all_ms.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&right)
        .caption("Harvest exit → response (median)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x_axis(), decade_range(l_lo.max(0.1) / 2.0, l_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("stdout printed")
        .y_desc("ms after the harvest's exit (median)")
        .x_label_formatter(&|v| size_label(*v))
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    let series: [Series; 3] = [
        ("TypeScript-style (polls every 500 ms)", BASELINE, |p| p.baseline_ms),
        ("native: execute() returns (after deleting Pod and Secret)", NATIVE, |p| p.native_ms),
        ("native: the flow emits the response", EMITTED, |p| p.native_emitted_ms),
    ];
    for (name, color, y) in &series {
        let data: Vec<(f64, f64)> =
            points.iter().map(|p| (p.stdout as f64, y(p).max(0.1))).collect();
        let color = *color;
        chart
            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(data.into_iter().map(|xy| Circle::new(xy, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
