//! Pictures: a demo's figure as an SVG, drawn once here for every demo.
//!
//! A [`Figure`] is a title, a line saying what was run (the demo, its parameters, the machine)
//! and one or more [`Panel`]s, each a chart of one of five kinds: a histogram (bars that touch,
//! as `plt.hist` draws them), a CDF with its percentiles marked, horizontal bars with their
//! spread (every run's value as a dot, min to max as a whisker, a predicted value as a tick), a
//! line plot, and a Gantt chart (who ran when). [`Figure::to_svg`] returns the SVG as a string
//! (to embed inline in an HTML page); [`Figure::write`] writes it to a file.
//!
//! Drawn with plotters' SVG backend and no font backend: text is laid out by an estimate and
//! drawn by the viewer as SVG `<text>`, so no system font or library is needed. Every picture
//! reads in black and white and on a projector: large type, grey fills and hatching rather than
//! colour, a different marker and dash for each line.
//!
//! The figures are drawn from a demo's report as JSON (what `--format json` prints), so that
//! `--plot` and `oslab plot REPORT.json` draw the same picture; [`Report`] reads its fields,
//! with an error that names a missing one.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::kit::timing::fmt_ns;

/// The picture's width in pixels; each row of panels is [`PANEL_HEIGHT`] high.
pub const WIDTH: u32 = 1280;
/// The height of one row of panels, in pixels.
pub const PANEL_HEIGHT: u32 = 480;
/// The height of the title band (title and what was run), in pixels.
const HEADER: u32 = 110;
const FONT: &str = "sans-serif";

/// One picture: a title, what was run, and its panels, `columns` to a row (a last row with
/// fewer shares the width among them).
#[derive(Clone, Debug)]
pub struct Figure {
    /// What the picture shows, in words: `sleep_jitter: 2000 sleeps of 5.00 ms`.
    pub title: String,
    /// What was run: the demo and its parameters, then the machine (one line each).
    pub run: Vec<String>,
    pub panels: Vec<Panel>,
    /// Panels side by side in a row (1 or 2).
    pub columns: usize,
}

/// One chart in a figure.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    /// The horizontal axis's label, with its unit: `overshoot (µs)`.
    pub x: String,
    /// The vertical axis's label, with its unit.
    pub y: String,
    pub chart: Chart,
}

/// The kinds of chart.
#[derive(Clone, Debug)]
pub enum Chart {
    /// Bars that touch, one per bin, each with its count above it.
    Histogram(Vec<Bin>),
    /// The fraction of samples at or below each value (y in %), one curve per distribution,
    /// each percentile in `marks` marked on it; `log`: a logarithmic x axis.
    Cdf {
        series: Vec<Dist>,
        marks: Vec<f64>,
        log: bool,
    },
    /// Horizontal bars, top to bottom, the value on the x axis from 0.
    Bars(Vec<Bar>),
    /// Lines through points (each with an optional low–high whisker), and vertical marks.
    Lines {
        series: Vec<Series>,
        marks: Vec<Mark>,
    },
    /// One lane per task, top to bottom, a box per span of time in one of `states` (drawn in
    /// that state's fill), and vertical marks.
    Gantt {
        lanes: Vec<Lane>,
        states: Vec<String>,
        marks: Vec<Mark>,
    },
}

/// A histogram's bin: `from..to` on the x axis, `count` high.
#[derive(Clone, Debug)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub count: f64,
}

/// The samples of one distribution (any order).
#[derive(Clone, Debug)]
pub struct Dist {
    pub name: String,
    pub values: Vec<f64>,
}

/// One horizontal bar: `value` long, every run's value in `samples` as a dot with a whisker
/// from the smallest to the largest, `expected` as a tick across it, `note` after it.
#[derive(Clone, Debug, Default)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub samples: Vec<f64>,
    pub expected: Option<f64>,
    pub note: String,
}

/// One line: its points in x order.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

/// A point of a line, with an optional whisker from `low` to `high`.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Point {
    /// A point with no whisker.
    pub fn at(x: f64, y: f64) -> Point {
        Point {
            x,
            y,
            low: None,
            high: None,
        }
    }
}

/// A vertical line across a chart at `at` on the x axis, labelled.
#[derive(Clone, Debug)]
pub struct Mark {
    pub at: f64,
    pub label: String,
}

/// A Gantt chart's lane: one task.
#[derive(Clone, Debug)]
pub struct Lane {
    pub label: String,
    pub spans: Vec<Span>,
}

/// A span of time in a lane, in state `state` (an index into the chart's states).
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub state: usize,
}

impl Figure {
    /// The picture as an SVG document, with `<title>` and `<desc>` (what was run) for a reader
    /// or an HTML page that embeds it inline.
    /// The earliest start and the latest end of every Gantt chart in the figure.
    fn gantt_span(&self) -> Option<(f64, f64)> {
        let spans = self.panels.iter().flat_map(|p| match &p.chart {
            Chart::Gantt { lanes, .. } => lanes.iter().flat_map(|l| l.spans.iter()).collect(),
            _ => Vec::new(),
        });
        spans.fold(None, |acc, s| match acc {
            None => Some((s.from, s.to)),
            Some((lo, hi)) => Some((f64::min(lo, s.from), f64::max(hi, s.to))),
        })
    }

    pub fn to_svg(&self) -> Result<String> {
        let columns = self.columns.clamp(1, 2);
        let rows = self.panels.len().div_ceil(columns).max(1);
        let height = self.header() + PANEL_HEIGHT * rows as u32;
        // Gantt charts of one figure share their time axis, so schedules line up (the
        // simulator's above the kernel's).
        let gantt_span = self.gantt_span();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            root.fill(&WHITE)?;
            let (header, body) = root.split_vertically(self.header());
            header.draw(&Text::new(
                self.title.clone(),
                (24, 14),
                (FONT, 34).into_font().style(FontStyle::Bold),
            ))?;
            for (i, line) in self.run_lines().iter().enumerate() {
                header.draw(&Text::new(
                    line.as_str(),
                    (24, 58 + 24 * i as i32),
                    (FONT, 21).into_font(),
                ))?;
            }
            // Row by row; a last row with fewer panels shares its width among them.
            for (row, panels) in body
                .split_evenly((rows, 1))
                .iter()
                .zip(self.panels.chunks(columns))
            {
                for (area, panel) in row.split_evenly((1, panels.len())).iter().zip(panels) {
                    draw_panel(area, panel, gantt_span)
                        .with_context(|| format!("drawing the panel {}", panel.title))?;
                }
            }
            root.present()?;
        }
        let head = format!(
            "<title>{}</title>\n<desc>{}</desc>\n",
            escape(&self.title),
            escape(&self.run.join("; "))
        );
        let at = svg
            .find('>')
            .map(|i| i + 1)
            .ok_or_else(|| anyhow!("the SVG backend wrote no <svg> element"))?;
        svg.insert_str(at, &format!("\n{head}"));
        Ok(svg)
    }

    /// What was run, wrapped at ` · ` to fit the width (about 110 characters a line at this
    /// size), a long part cut.
    fn run_lines(&self) -> Vec<String> {
        const CHARS: usize = 110;
        let mut lines = Vec::new();
        for line in &self.run {
            let mut current = String::new();
            for part in line.split(" · ") {
                if !current.is_empty() && current.chars().count() + 3 + part.chars().count() > CHARS
                {
                    lines.push(std::mem::take(&mut current));
                }
                if !current.is_empty() {
                    current.push_str(" · ");
                }
                current.push_str(part);
            }
            lines.push(fit(&current, CHARS));
        }
        lines
    }

    /// The height of the title band: the title and the lines of what was run.
    fn header(&self) -> u32 {
        HEADER + 24 * (self.run_lines().len().max(2) as u32 - 2)
    }

    /// Writes the picture to `path`; an error names the path.
    pub fn write(&self, path: &Path) -> Result<()> {
        let svg = self.to_svg()?;
        std::fs::write(path, svg)
            .with_context(|| format!("cannot write the picture to {}", path.display()))
    }
}

/// Fails, naming `path`, if a picture could not be written there: checked before a run, so
/// that a long run does not end in a picture it cannot save. Leaves no file behind.
pub fn check_writable(path: &Path) -> Result<()> {
    crate::kit::export::check_writable("--plot", "the picture", path)
}

/// `text` cut to `chars` characters, with `…` where it was cut.
fn fit(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        let cut: String = text.chars().take(chars - 1).collect();
        format!("{cut}…")
    }
}

/// Text for an XML element's content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The greys (and hatching) that tell states and series apart in black and white.
#[derive(Clone, Copy)]
enum Fill {
    Solid(RGBColor),
    /// White with diagonal black lines.
    Hatch,
    /// White, outlined.
    Hollow,
}

const INK: RGBColor = RGBColor(0, 0, 0);
const DARK: RGBColor = RGBColor(60, 60, 60);
const MID: RGBColor = RGBColor(150, 150, 150);
const LIGHT: RGBColor = RGBColor(205, 205, 205);
const GRID: RGBColor = RGBColor(225, 225, 225);

/// The fill of state (or bar) `i`: dark, hatched, mid grey, hollow, light grey, then again.
fn fill(i: usize) -> Fill {
    [
        Fill::Solid(DARK),
        Fill::Hatch,
        Fill::Solid(MID),
        Fill::Hollow,
        Fill::Solid(LIGHT),
    ][i % 5]
}

fn label_style() -> TextStyle<'static> {
    TextStyle::from((FONT, 20).into_font()).color(&BLACK)
}

fn draw_panel(area: &Area<'_>, panel: &Panel, gantt_span: Option<(f64, f64)>) -> Result<()> {
    match &panel.chart {
        Chart::Histogram(bins) => histogram(area, panel, bins),
        Chart::Cdf { series, marks, log } => cdf(area, panel, series, marks, *log),
        Chart::Bars(bars) => bars_chart(area, panel, bars),
        Chart::Lines { series, marks } => lines(area, panel, series, marks),
        Chart::Gantt {
            lanes,
            states,
            marks,
        } => gantt(area, panel, lanes, states, marks, gantt_span),
    }
}

/// A chart builder with the house style: the panel's title as caption, room for the labels.
fn builder<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    y_label_width: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    // About 11 px a character at this size: a longer caption is cut, not drawn off the edge.
    let room = (area.dim_in_pixel().0 / 11) as usize;
    b.caption(fit(title, room), (FONT, 26).into_font())
        .margin(14)
        .margin_right(36)
        .x_label_area_size(64)
        .y_label_area_size(y_label_width);
    b
}

/// The range `lo..hi` widened a little (and made non-empty).
fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        let (lo, hi) = (lo.max(1e-9), hi.max(lo.max(1e-9) * 10.0));
        (lo / 1.3, hi * 1.3)
    } else if hi > lo {
        (lo, hi + (hi - lo) * 0.05)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

fn histogram(area: &Area<'_>, panel: &Panel, bins: &[Bin]) -> Result<()> {
    if bins.is_empty() {
        bail!("a histogram with no bins");
    }
    let lo = bins.iter().map(|b| b.from).fold(f64::INFINITY, f64::min);
    let hi = bins.iter().map(|b| b.to).fold(f64::NEG_INFINITY, f64::max);
    let top = bins.iter().map(|b| b.count).fold(0.0, f64::max).max(1.0) * 1.15;
    let mut chart = builder(area, &panel.title, 90).build_cartesian_2d(lo..hi, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x)
        .y_desc(&panel.y)
        .axis_desc_style((FONT, 22))
        .label_style((FONT, 18))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .draw()?;
    chart.draw_series(
        bins.iter()
            .map(|b| Rectangle::new([(b.from, 0.0), (b.to, b.count)], MID.filled())),
    )?;
    chart.draw_series(
        bins.iter()
            .map(|b| Rectangle::new([(b.from, 0.0), (b.to, b.count)], INK.stroke_width(1))),
    )?;
    // The counts above the bars, when there is room for them.
    if bins.len() <= 16 {
        let style = label_style().pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(bins.iter().map(|b| {
            Text::new(
                format!("{}", b.count),
                ((b.from + b.to) / 2.0, b.count + top * 0.01),
                style.clone(),
            )
        }))?;
    }
    Ok(())
}

/// The value at percentile `p` (0–100) of sorted `values`: nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A series' marker: a filled circle, a hollow triangle, a filled square, a cross, a filled
/// diamond, a hollow diamond, in turn.
fn marker<'a, DB: DrawingBackend + 'a, C: Clone + 'a>(
    i: usize,
    at: C,
    size: i32,
) -> DynElement<'a, DB, C> {
    let style = if i.is_multiple_of(2) {
        INK.filled()
    } else {
        INK.stroke_width(2)
    };
    let at = EmptyElement::at(at);
    let diamond = vec![
        (0, -size - 2),
        (size + 2, 0),
        (0, size + 2),
        (-size - 2, 0),
        (0, -size - 2),
    ];
    match i % 6 {
        0 => (at + Circle::new((0, 0), size, style)).into_dyn(),
        1 => (at + TriangleMarker::new((0, 0), size + 2, style)).into_dyn(),
        2 => (at + Rectangle::new([(-size, -size), (size, size)], style)).into_dyn(),
        3 => (at + Cross::new((0, 0), size + 1, INK.stroke_width(3))).into_dyn(),
        4 => (at + Polygon::new(diamond, INK.filled())).into_dyn(),
        _ => (at + PathElement::new(diamond, INK.stroke_width(2))).into_dyn(),
    }
}

/// A series' line: solid, then dashes of different lengths, in turn.
fn line_dash(i: usize) -> (u32, u32) {
    [(0, 0), (12, 6), (4, 5), (18, 5), (8, 3), (2, 8)][i % 6]
}

/// Ticks for a logarithmic axis from `lo` to `hi`: 1, 2 and 5 × 10^k.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        ticks.extend(
            [1.0, 2.0, 5.0]
                .iter()
                .map(|m| m * decade)
                .filter(|t| (lo..=hi).contains(t)),
        );
        decade *= 10.0;
    }
    ticks
}

/// Binds `$x` to the x axis's range `$lo..$hi`, logarithmic or not, and runs `$body` with it:
/// plotters' two kinds of axis are two types.
macro_rules! with_x_axis {
    ($log:expr, $lo:expr, $hi:expr, |$x:ident| $body:expr) => {
        if $log {
            let $x = ($lo..$hi).log_scale().with_key_points(log_ticks($lo, $hi));
            $body
        } else {
            let $x = $lo..$hi;
            $body
        }
    };
}

fn cdf(area: &Area<'_>, panel: &Panel, series: &[Dist], marks: &[f64], log: bool) -> Result<()> {
    let sorted: Vec<Vec<f64>> = series
        .iter()
        .map(|d| {
            let mut v: Vec<f64> = d
                .values
                .iter()
                .copied()
                .filter(|v| v.is_finite() && (!log || *v > 0.0))
                .collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let all = sorted.iter().flatten();
    let lo = all.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = all.copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        bail!("a CDF with no samples");
    }
    let (lo, hi) = padded(lo, hi, log);
    with_x_axis!(log, lo, hi, |x_spec| {
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        let mut b = builder(area, &panel.title, 90);
        if series.len() > 1 {
            b.margin_right(legend_width(&names) + 24);
        }
        let mut chart = b.build_cartesian_2d(x_spec, 0.0..105.0)?;
        chart
            .configure_mesh()
            .x_desc(&panel.x)
            .y_desc(&panel.y)
            .axis_desc_style((FONT, 22))
            .label_style((FONT, 18))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .draw()?;
        let right_edge = chart.plotting_area().get_base_pixel().0
            + chart.plotting_area().dim_in_pixel().0 as i32 * 3 / 4;
        for (i, values) in sorted.iter().enumerate() {
            let n = values.len() as f64;
            // A step at each sample: (v, fraction at or below v).
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    values.len() <= 4000 || k % (values.len() / 2000) == 0 || *k + 1 == values.len()
                })
                .map(|(k, &v)| (v, (k + 1) as f64 / n * 100.0))
                .collect();
            let (dash, gap) = line_dash(i);
            let style = INK.stroke_width(3);
            if dash == 0 {
                chart.draw_series(LineSeries::new(points, style))?;
            } else {
                chart.draw_series(DashedLineSeries::new(points, dash, gap, style))?;
            }
            // The percentiles, marked on the curve.
            for &p in marks {
                let v = percentile(values, p);
                if !v.is_finite() {
                    continue;
                }
                chart.plotting_area().draw(&marker(i, (v, p), 6))?;
                if series.len() == 1 {
                    let text = format!("p{} {}", trim(p), short_unit(v, &panel.x));
                    // Right of the point, or left of it near the right edge.
                    let (dx, h) = if chart.backend_coord(&(v, p)).0 > right_edge {
                        (-10, HPos::Right)
                    } else {
                        (10, HPos::Left)
                    };
                    chart.plotting_area().draw(
                        &(EmptyElement::at((v, p))
                            + Text::new(text, (dx, 4), label_style().pos(Pos::new(h, VPos::Top)))),
                    )?;
                }
            }
        }
        if series.len() > 1 {
            legend(area, &names)?;
        }
        Ok::<(), anyhow::Error>(())
    })
}

/// A percentile as written: `50`, `99.9`.
fn trim(p: f64) -> String {
    let s = format!("{p:.1}");
    s.trim_end_matches(".0").to_string()
}

/// A tick label: up to 3 significant figures, no trailing zeros.
fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let s = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `v` with the unit in the axis label's parentheses (`overshoot (µs)` → `73.5 µs`).
fn short_unit(v: f64, axis: &str) -> String {
    match axis.rsplit_once('(').and_then(|(_, u)| u.strip_suffix(')')) {
        Some(unit) if !unit.contains(' ') => format!("{} {unit}", short(v)),
        _ => short(v),
    }
}

/// Draws labels at the left of lanes `0..n` (top to bottom), lane i at y from n-1-i to n-i.
fn lane_labels<X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    labels: &[&str],
    x0: f64,
) -> Result<()> {
    let n = labels.len();
    let style = label_style().pos(Pos::new(HPos::Right, VPos::Center));
    chart.draw_series(labels.iter().enumerate().map(|(i, l)| {
        EmptyElement::at((x0, (n - i) as f64 - 0.5))
            + Text::new(l.to_string(), (-10, 0), style.clone())
    }))?;
    Ok(())
}

/// Room for labels `labels` at `px` pixels a character (an estimate: no font is measured).
fn label_width(labels: impl Iterator<Item = usize>, px: f64) -> u32 {
    let longest = labels.max().unwrap_or(4) as f64;
    (longest * px + 24.0).clamp(90.0, 460.0) as u32
}

fn bars_chart(area: &Area<'_>, panel: &Panel, bars: &[Bar]) -> Result<()> {
    if bars.is_empty() {
        bail!("a bar chart with no bars");
    }
    let n = bars.len();
    let hi = bars
        .iter()
        .flat_map(|b| b.samples.iter().copied().chain([b.value]).chain(b.expected))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let width = label_width(bars.iter().map(|b| b.label.chars().count()), 10.5);
    // Room on the right for the longest note (about 10 px a character), at most half the plot.
    let plot_px = (area.dim_in_pixel().0 as f64 - f64::from(width) - 70.0).max(200.0);
    let note_px = bars
        .iter()
        .map(|b| b.note.chars().count())
        .max()
        .unwrap_or(0) as f64
        * 10.0
        + 30.0;
    let hi = if hi > 0.0 {
        hi / (1.0 - (note_px / plot_px).min(0.5))
    } else {
        1.0
    };
    let mut chart =
        builder(area, &panel.title, width).build_cartesian_2d(0.0..hi, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x)
        .y_desc(&panel.y)
        .axis_desc_style((FONT, 22))
        .label_style((FONT, 18))
        .y_labels(0)
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&|v| short(*v))
        .draw()?;
    let lane = |i: usize| (n - 1 - i) as f64;
    for (i, bar) in bars.iter().enumerate() {
        let (y0, y1) = (lane(i) + 0.18, lane(i) + 0.82);
        let value = if bar.value.is_finite() {
            bar.value
        } else {
            0.0
        };
        shaded(&chart, (0.0, y0), (value, y1), Fill::Solid(MID))?;
        let y = lane(i) + 0.5;
        let samples: Vec<f64> = bar
            .samples
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if samples.len() > 1 {
            let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
            let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            chart.draw_series([
                PathElement::new(vec![(min, y), (max, y)], INK.stroke_width(3)),
                PathElement::new(vec![(min, y - 0.2), (min, y + 0.2)], INK.stroke_width(3)),
                PathElement::new(vec![(max, y - 0.2), (max, y + 0.2)], INK.stroke_width(3)),
            ])?;
            chart.draw_series(samples.iter().map(|&v| {
                EmptyElement::at((v, y))
                    + Circle::new((0, 0), 6, WHITE.filled())
                    + Circle::new((0, 0), 6, INK.stroke_width(2))
            }))?;
        }
        if let Some(e) = bar.expected {
            chart.draw_series([PathElement::new(
                vec![(e, lane(i) + 0.05), (e, lane(i) + 0.95)],
                INK.stroke_width(4),
            )])?;
        }
        let right = samples
            .iter()
            .copied()
            .chain([value])
            .chain(bar.expected)
            .fold(0.0, f64::max);
        chart.draw_series([EmptyElement::at((right, y))
            + Text::new(
                bar.note.clone(),
                (12, 0),
                label_style().pos(Pos::new(HPos::Left, VPos::Center)),
            )])?;
    }
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    lane_labels(&mut chart, &labels, 0.0)?;
    Ok(())
}

/// A box from `a` to `b` (data coordinates) in `fill`, outlined in black.
fn shaded<X: Ranged<ValueType = f64>>(
    chart: &ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    a: (f64, f64),
    b: (f64, f64),
    fill: Fill,
) -> Result<()> {
    let area = chart.plotting_area();
    match fill {
        Fill::Solid(c) => {
            area.draw(&Rectangle::new([a, b], c.filled()))?;
        }
        Fill::Hollow => {
            area.draw(&Rectangle::new([a, b], WHITE.filled()))?;
        }
        Fill::Hatch => {
            area.draw(&Rectangle::new([a, b], WHITE.filled()))?;
            // Diagonal lines 8 px apart, in pixels, clipped to the box.
            let base = area.get_base_pixel();
            let (p, q) = (chart.backend_coord(&a), chart.backend_coord(&b));
            let (x0, x1) = (p.0.min(q.0) - base.0, p.0.max(q.0) - base.0);
            let (y0, y1) = (p.1.min(q.1) - base.1, p.1.max(q.1) - base.1);
            let pixels = area.strip_coord_spec();
            let mut c = x0 - y1;
            while c <= x1 - y0 {
                // The line x - y = c within the box.
                let (from, to) = ((x0).max(y0 + c), (x1).min(y1 + c));
                if from < to {
                    pixels.draw(&PathElement::new(
                        vec![(from, from - c), (to, to - c)],
                        INK.stroke_width(1),
                    ))?;
                }
                c += 8;
            }
        }
    }
    area.draw(&Rectangle::new([a, b], INK.stroke_width(1)))?;
    Ok(())
}

fn lines(area: &Area<'_>, panel: &Panel, series: &[Series], marks: &[Mark]) -> Result<()> {
    let points = series.iter().flat_map(|s| s.points.iter());
    let xs = points
        .clone()
        .map(|p| p.x)
        .chain(marks.iter().map(|m| m.at));
    let ys = points.flat_map(|p| [Some(p.y), p.low, p.high]).flatten();
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let y_hi = ys.fold(0.0, f64::max);
    if !x_lo.is_finite() {
        bail!("a line plot with no points");
    }
    let (x_lo, x_hi) = padded(x_lo, x_hi, false);
    let y_hi = if y_hi > 0.0 { y_hi * 1.12 } else { 1.0 };
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let mut b = builder(area, &panel.title, 100);
    if series.len() > 1 {
        b.margin_right(legend_width(&names) + 24);
    }
    let mut chart = b.build_cartesian_2d(x_lo..x_hi, 0.0..y_hi)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x)
        .y_desc(&panel.y)
        .axis_desc_style((FONT, 22))
        .label_style((FONT, 18))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .draw()?;
    draw_marks(&mut chart, marks, y_hi)?;
    for (i, s) in series.iter().enumerate() {
        let xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
        let (dash, gap) = line_dash(i);
        let style = INK.stroke_width(2);
        if dash == 0 {
            chart.draw_series(LineSeries::new(xy.clone(), style))?;
        } else {
            chart.draw_series(DashedLineSeries::new(xy.clone(), dash, gap, style))?;
        }
        for p in &s.points {
            if let (Some(lo), Some(hi)) = (p.low, p.high) {
                chart.draw_series([PathElement::new(
                    vec![(p.x, lo), (p.x, hi)],
                    INK.stroke_width(2),
                )])?;
            }
        }
        if xy.len() <= 60 {
            for &at in &xy {
                chart.plotting_area().draw(&marker(i, at, 6))?;
            }
        }
    }
    if series.len() > 1 {
        legend(area, &names)?;
    }
    Ok(())
}

/// The width of a key for `names`, in pixels (an estimate of the text's width).
fn legend_width(names: &[&str]) -> u32 {
    let widest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    90 + widest * 11
}

/// A key at the right of a panel, beside the chart (whose right margin leaves room for it):
/// for each name, its series' dashes and its marker.
fn legend(area: &Area<'_>, names: &[&str]) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    let box_w = legend_width(names) as i32;
    let box_h = 12 + 28 * names.len() as i32;
    let (x0, y0) = (w as i32 - box_w - 10, 60);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + box_w, y0 + box_h)],
        INK.stroke_width(1),
    ))?;
    for (i, name) in names.iter().enumerate() {
        let y = y0 + 20 + 28 * i as i32;
        let (dash, gap) = match line_dash(i) {
            (0, _) => (30, 0),
            (d, g) => (d as i32, g as i32),
        };
        let mut x = x0 + 10;
        while x < x0 + 70 {
            area.draw(&PathElement::new(
                vec![(x, y), ((x + dash).min(x0 + 70), y)],
                INK.stroke_width(3),
            ))?;
            x += dash + gap.max(1);
        }
        area.draw(&marker(i, (x0 + 40, y), 6))?;
        area.draw(&Text::new(
            name.to_string(),
            (x0 + 80, y),
            label_style().pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Vertical dashed lines at `marks`, labelled at the top, alternately a little lower so that
/// neighbours do not overlap.
fn draw_marks<X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    marks: &[Mark],
    y_hi: f64,
) -> Result<()> {
    for (i, m) in marks.iter().enumerate() {
        chart.draw_series(DashedLineSeries::new(
            [(m.at, 0.0), (m.at, y_hi)],
            8,
            6,
            DARK.stroke_width(2),
        ))?;
        let style = TextStyle::from((FONT, 17).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Top));
        chart.draw_series([EmptyElement::at((m.at, y_hi))
            + Text::new(m.label.clone(), (5, 4 + 20 * (i % 3) as i32), style)])?;
    }
    Ok(())
}

fn gantt(
    area: &Area<'_>,
    panel: &Panel,
    lanes: &[Lane],
    states: &[String],
    marks: &[Mark],
    span: Option<(f64, f64)>,
) -> Result<()> {
    let (Some((lo, hi)), false) = (span, lanes.iter().all(|l| l.spans.is_empty())) else {
        bail!("a Gantt chart with nothing in it");
    };
    let lo = lo.min(0.0);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let n = lanes.len();
    // Room above the lanes for the marks' labels; one more lane at the bottom for the key.
    let top = n as f64 + if marks.is_empty() { 0.0 } else { 0.45 };
    let width = label_width(lanes.iter().map(|l| l.label.chars().count()), 10.5);
    let mut chart = builder(area, &panel.title, width).build_cartesian_2d(lo..hi, -0.9..top)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x)
        .y_desc(&panel.y)
        .axis_desc_style((FONT, 22))
        .label_style((FONT, 18))
        .y_labels(0)
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&|v| short(*v))
        .draw()?;
    for (i, lane) in lanes.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        for s in &lane.spans {
            shaded(&chart, (s.from, y + 0.15), (s.to, y + 0.85), fill(s.state))?;
        }
    }
    let labels: Vec<&str> = lanes.iter().map(|l| l.label.as_str()).collect();
    lane_labels(&mut chart, &labels, lo)?;
    // The key, along the bottom: a swatch and the state's name for each state.
    let step = (hi - lo) / states.len().max(1) as f64;
    for (k, state) in states.iter().enumerate() {
        let x = lo + step * k as f64;
        let w = step * 0.12;
        shaded(&chart, (x, -0.75), (x + w, -0.25), fill(k))?;
        chart.draw_series([EmptyElement::at((x + w, -0.5))
            + Text::new(
                state.clone(),
                (8, 0),
                label_style().pos(Pos::new(HPos::Left, VPos::Center)),
            )])?;
    }
    draw_marks(&mut chart, marks, top)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading a report

/// A demo's report as JSON, read by path (`/results/trials/0/p50_ns`) with errors that name
/// the field a figure needed and did not find.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a>(pub &'a Value);

impl<'a> Report<'a> {
    /// The value at `pointer` (a JSON pointer), or an error naming it.
    pub fn get(&self, pointer: &str) -> Result<&'a Value> {
        self.0
            .pointer(pointer)
            .with_context(|| format!("the report has no {pointer}"))
    }

    /// The number at `pointer`.
    pub fn num(&self, pointer: &str) -> Result<f64> {
        self.get(pointer)?
            .as_f64()
            .with_context(|| format!("the report's {pointer} is not a number"))
    }

    /// The text at `pointer`.
    pub fn str(&self, pointer: &str) -> Result<&'a str> {
        self.get(pointer)?
            .as_str()
            .with_context(|| format!("the report's {pointer} is not text"))
    }

    /// The list at `pointer`.
    pub fn list(&self, pointer: &str) -> Result<&'a Vec<Value>> {
        self.get(pointer)?
            .as_array()
            .with_context(|| format!("the report's {pointer} is not a list"))
    }

    /// The numbers in the list at `pointer` (a null, as for a missing sample, is left out).
    pub fn nums(&self, pointer: &str) -> Result<Vec<f64>> {
        self.list(pointer)?
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| {
                v.as_f64()
                    .with_context(|| format!("the report's {pointer} holds {v}, not a number"))
            })
            .collect()
    }

    /// The demo's name (`demo`).
    pub fn demo(&self) -> Result<&'a str> {
        self.str("/demo")
    }

    /// What was run, in two lines: the demo and its parameters (`--format json` plotted from a
    /// run prints the same), then the machine.
    pub fn run_lines(&self) -> Vec<String> {
        let demo = self.demo().unwrap_or("?");
        let mut line = demo.to_string();
        let partial = self.0.get("partial").and_then(Value::as_bool) == Some(true);
        if let Some(Value::Object(params)) = self.0.get("params") {
            for (key, value) in params {
                if let Some(text) = param(key, value) {
                    line.push_str(" · ");
                    line.push_str(&text);
                }
            }
        }
        if partial {
            line.push_str(" · stopped early: partial");
        }
        vec![line, machine_line(self.0.get("system"))]
    }
}

/// One parameter as a reader says it: `interval 5.00 ms`, `mlock`, `mode relative`; None for
/// one not given (null, false, an empty list).
fn param(key: &str, value: &Value) -> Option<String> {
    let (name, ns) = match key.strip_suffix("_ns") {
        Some(name) => (name, 1.0),
        None => match key.strip_suffix("_us") {
            Some(name) => (name, 1e3),
            None => (key, 0.0),
        },
    };
    let name = name.replace('_', " ");
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::Bool(true) => Some(name),
        Value::Number(n) if ns > 0.0 => Some(format!("{name} {}", fmt_ns(n.as_f64()? * ns))),
        Value::Number(n) => Some(format!("{name} {n}")),
        Value::String(s) => Some(format!("{name} {s}")),
        Value::Array(items) if items.is_empty() => None,
        // A command line reads as the shell shows it: `command cow_overhead --pages 16384`.
        Value::Array(items) if key == "command" => {
            let words: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            Some(format!(
                "{name} {}",
                crate::kit::report::shown_command(&words)
            ))
        }
        Value::Array(items) if items.len() <= 6 && items.iter().all(|v| !v.is_object()) => {
            Some(format!(
                "{name} {}",
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(",")
            ))
        }
        _ => None,
    }
}

/// `on Intel Xeon … (2 of 2 CPUs usable), Linux 6.1.0, in a VM`: the report's `system`.
pub fn machine_line(system: Option<&Value>) -> String {
    let Some(s) = system else {
        return "machine not recorded".into();
    };
    let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let count = |k: &str| {
        s.get(k)
            .and_then(Value::as_u64)
            .map_or("?".into(), |n| n.to_string())
    };
    format!(
        "on {} ({} of {} CPUs usable), Linux {}{}",
        text("cpu_model"),
        count("cpus_usable_count"),
        count("cpus_online"),
        text("kernel"),
        if s.get("hypervisor").and_then(Value::as_bool) == Some(true) {
            ", in a VM"
        } else {
            ""
        }
    )
}

/// The unit a time axis reads best in when its largest value is `max_ns`: its name and its size
/// in ns (`("ms", 1e6)`).
pub fn time_unit(max_ns: f64) -> (&'static str, f64) {
    if max_ns >= 1e9 {
        ("s", 1e9)
    } else if max_ns >= 1e6 {
        ("ms", 1e6)
    } else if max_ns >= 1e3 {
        ("µs", 1e3)
    } else {
        ("ns", 1.0)
    }
}

/// `count` bins of a nice width (1, 2 or 5 × 10^k) from below the smallest of `values` to past
/// the largest.
pub fn bins(values: &[f64], count: usize) -> Vec<Bin> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return Vec::new();
    }
    let raw = ((hi - lo) / count.max(1) as f64).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let width = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|w| *w >= raw)
        .unwrap_or(10.0 * magnitude);
    let start = (lo / width).floor() * width;
    let n = (((hi - start) / width).floor() as usize + 1).max(1);
    let mut out: Vec<Bin> = (0..n)
        .map(|i| Bin {
            from: start + width * i as f64,
            to: start + width * (i + 1) as f64,
            count: 0.0,
        })
        .collect();
    for &v in values {
        let i = (((v - start) / width).floor() as usize).min(n - 1);
        out[i].count += 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gantt_charts_of_one_figure_share_their_time_axis() {
        let gantt = |to: f64| Panel {
            title: "g".into(),
            x: "time (ms)".into(),
            y: "task".into(),
            chart: Chart::Gantt {
                lanes: vec![Lane {
                    label: "A".into(),
                    spans: vec![Span {
                        from: 0.5,
                        to,
                        state: 0,
                    }],
                }],
                states: vec!["running".into()],
                marks: Vec::new(),
            },
        };
        let figure = Figure {
            title: "t".into(),
            run: Vec::new(),
            columns: 1,
            panels: vec![gantt(5.0), gantt(9.0)],
        };
        assert_eq!(figure.gantt_span(), Some((0.5, 9.0)));
        // Both axes then end at 9: the last tick label, 8, appears twice.
        let svg = figure.to_svg().unwrap();
        assert_eq!(svg.matches("\n8\n</text>").count(), 2, "{svg}");
    }

    fn sample() -> Figure {
        Figure {
            title: "demo: a <test> & more".into(),
            run: vec!["demo · count 3".into(), "on a machine".into()],
            columns: 2,
            panels: vec![
                Panel {
                    title: "histogram".into(),
                    x: "sleep (ms)".into(),
                    y: "sleeps".into(),
                    chart: Chart::Histogram(bins(&[1.0, 2.0, 2.5, 7.0], 5)),
                },
                Panel {
                    title: "cdf".into(),
                    x: "overshoot (µs)".into(),
                    y: "sleeps at or below (%)".into(),
                    chart: Chart::Cdf {
                        series: vec![Dist {
                            name: "a".into(),
                            values: vec![1.0, 10.0, 100.0],
                        }],
                        marks: vec![50.0, 99.0],
                        log: true,
                    },
                },
                Panel {
                    title: "bars".into(),
                    x: "time (ms)".into(),
                    y: "variant".into(),
                    chart: Chart::Bars(vec![
                        Bar {
                            label: "one".into(),
                            value: 2.0,
                            samples: vec![1.0, 2.0, 3.0],
                            expected: Some(2.5),
                            note: "2 ms".into(),
                        },
                        Bar {
                            label: "two".into(),
                            value: 0.0,
                            ..Bar::default()
                        },
                    ]),
                },
                Panel {
                    title: "gantt".into(),
                    x: "time (ms)".into(),
                    y: "task".into(),
                    chart: Chart::Gantt {
                        lanes: vec![Lane {
                            label: "A".into(),
                            spans: vec![
                                Span {
                                    from: 0.0,
                                    to: 1.0,
                                    state: 0,
                                },
                                Span {
                                    from: 1.0,
                                    to: 2.0,
                                    state: 1,
                                },
                            ],
                        }],
                        states: vec!["running".into(), "waiting".into()],
                        marks: vec![Mark {
                            at: 1.0,
                            label: "switch".into(),
                        }],
                    },
                },
            ],
        }
    }

    #[test]
    fn a_figure_is_one_svg_with_its_title_and_axes() {
        let svg = sample().to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("<title>demo: a &lt;test&gt; &amp; more</title>"));
        assert!(svg.contains("<desc>demo · count 3; on a machine</desc>"));
        for text in [
            "overshoot (µs)",
            "sleeps at or below (%)",
            "p50 ",
            "switch",
            "waiting",
        ] {
            assert!(svg.contains(text), "no {text}");
        }
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn bins_have_a_nice_width_and_hold_every_value() {
        let b = bins(&[3.0, 4.0, 17.0, 29.9], 10);
        assert_eq!((b[0].from, b[0].to), (0.0, 5.0));
        assert_eq!(b.iter().map(|b| b.count).sum::<f64>(), 4.0);
        assert!(b.last().unwrap().to > 29.9);
        assert!(bins(&[], 10).is_empty());
        assert_eq!(bins(&[5.0, 5.0], 10).len(), 1);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.9), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn parameters_read_as_a_person_says_them() {
        assert_eq!(
            param("interval_ns", &5_000_000.into()).unwrap(),
            "interval 5.00 ms"
        );
        assert_eq!(param("mlock", &true.into()), Some("mlock".into()));
        assert_eq!(param("fifo", &Value::Null), None);
        assert_eq!(
            param("dma_latency_us", &0.into()).unwrap(),
            "dma latency 0 ns"
        );
        assert_eq!(param("mode", &"relative".into()).unwrap(), "mode relative");
        assert_eq!(
            param(
                "command",
                &serde_json::json!(["/bin/dd", "if=/dev/zero", "a b"])
            )
            .unwrap(),
            "command dd if=/dev/zero 'a b'"
        );
        assert_eq!(short(73.5), "73.5");
        assert_eq!(short(2.0), "2");
        assert_eq!(short_unit(73.5, "overshoot (µs)"), "73.5 µs");
    }
}
