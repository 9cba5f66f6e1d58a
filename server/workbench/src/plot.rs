//! Line charts and process-network diagrams for the data-science
//! subcommands, drawn with plotters and
//! written twice: SVG (for documents and the browser) and PNG (for chat,
//! slides and image viewers).
//!
//! Text is rendered with DejaVu Sans embedded from the `dejavu` crate through
//! plotters' `ab_glyph` feature, so the PNGs need no system fonts, fontconfig
//! or freetype: the same binary draws the same pictures on any machine. PNG
//! encoding goes through the `png` crate from plotters' in-memory RGB buffer.

use anyhow::{Context as _, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

/// Width and height of every chart, in pixels.
const SIZE: (u32, u32) = (900, 560);

/// One line, with an optional band (e.g. a 95% interval over seeds).
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points in x order.
    pub points: Vec<(f64, f64)>,
    /// `(x, lower, upper)` of the band, if any.
    pub band: Vec<(f64, f64, f64)>,
}

/// A chart of several lines.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
}

/// Colour-blind-safe palette (Okabe-Ito, with grey for the eighth line in
/// place of its yellow, which is hard to see on white), cycled.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(128, 128, 128),
];

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "plotters' FontStyle: the embedded DejaVu Sans has regular and bold only"
)]
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TrueType font; a failure here would be a
        // packaging defect, and text would then be missing, not wrong.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let bytes = match style {
                FontStyle::Bold => dejavu::sans::bold(),
                _ => dejavu::sans::regular(),
            };
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                tracing::warn!("cannot register the embedded plot font");
            }
        }
    });
}

impl LineChart {
    /// Writes `<stem>.svg` and `<stem>.png` into `dir`.
    pub fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<()> {
        write_both(dir, stem, |root| self.draw(root), |root| self.draw(root))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
        root.fill(&WHITE).map_err(err)?;
        let (x0, x1, y0, y1) = self.bounds();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(246, 246, 246))
            .bold_line_style(RGBColor(225, 225, 225))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(err)?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            if !s.band.is_empty() {
                let mut outline: Vec<(f64, f64)> = s.band.iter().map(|&(x, _, u)| (x, u)).collect();
                outline.extend(s.band.iter().rev().map(|&(x, l, _)| (x, l)));
                chart
                    .draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.15))))
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        Ok(())
    }

    /// Axis ranges covering every finite point and band, with 5% headroom.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
        let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
        let mut see = |x: f64, y: f64| {
            if x.is_finite() && y.is_finite() {
                xs = (xs.0.min(x), xs.1.max(x));
                ys = (ys.0.min(y), ys.1.max(y));
            }
        };
        for s in &self.series {
            for &(x, y) in &s.points {
                see(x, y);
            }
            for &(x, l, u) in &s.band {
                see(x, l);
                see(x, u);
            }
        }
        if !xs.0.is_finite() {
            return (0.0, 1.0, 0.0, 1.0);
        }
        let pad = ((ys.1 - ys.0) * 0.05).max(1e-6);
        let x1 = if xs.1 > xs.0 { xs.1 } else { xs.0 + 1.0 };
        (xs.0, x1, ys.0 - pad, ys.1 + pad)
    }
}

/// Draws one picture twice, as `<stem>.svg` and `<stem>.png` in `dir`. Two
/// closures because the two backends are different types.
fn write_both(
    dir: &Path,
    stem: &str,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
    bitmap: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    register_fonts();
    let svg_path = dir.join(format!("{stem}.svg"));
    {
        let root = SVGBackend::new(&svg_path, SIZE).into_drawing_area();
        svg(&root).with_context(|| format!("drawing {}", svg_path.display()))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg_path.display()))?;
    }
    let png_path = dir.join(format!("{stem}.png"));
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        bitmap(&root).with_context(|| format!("drawing {}", png_path.display()))?;
        root.present()
            .map_err(|e| anyhow!("rendering {}: {e}", png_path.display()))?;
    }
    write_png(&png_path, &buffer, SIZE)
}

/// One person's lagged process network: every variable a node on a circle,
/// the strongest edges as arrows (blue helps, vermilion hurts the target at
/// the next time point; width is the standardised weight; pale when its
/// interval includes 0, i.e. the data do not yet say which way it goes).
#[derive(Debug, Clone)]
pub struct NetworkChart {
    /// Title above the diagram.
    pub title: String,
    /// Node labels, in layout order (e.g. `affect +`, `affect −`, `outcome`).
    pub nodes: Vec<String>,
    /// `(source, target, weight, interval excludes 0)` by node index.
    pub edges: Vec<(usize, usize, f64, bool)>,
}

impl NetworkChart {
    /// Writes `<stem>.svg` and `<stem>.png` into `dir`.
    pub fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<()> {
        write_both(dir, stem, |root| self.draw(root), |root| self.draw(root))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
        root.fill(&WHITE).map_err(err)?;
        root.draw(&Text::new(
            self.title.clone(),
            (16, 12),
            ("sans-serif", 20).into_font(),
        ))
        .map_err(err)?;
        let n = self.nodes.len().max(1);
        let (cx, cy, r) = (
            f64::from(SIZE.0) / 2.0,
            f64::from(SIZE.1) / 2.0 + 16.0,
            215.0,
        );
        let at = |i: usize| {
            let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
            (cx + r * a.cos(), cy + r * a.sin())
        };
        let max = self
            .edges
            .iter()
            .map(|e| e.2.abs())
            .fold(0.0_f64, f64::max)
            .max(1e-9);
        const NODE: f64 = 14.0;
        let px = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
        for &(s, t, w, certain) in &self.edges {
            if s >= n || t >= n || s == t {
                continue;
            }
            let (a, b) = (at(s), at(t));
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / len, dy / len);
            let start = (a.0 + ux * NODE, a.1 + uy * NODE);
            let end = (b.0 - ux * (NODE + 2.0), b.1 - uy * (NODE + 2.0));
            let base = if w >= 0.0 { PALETTE[0] } else { PALETTE[3] };
            let colour = if certain {
                base.to_rgba()
            } else {
                base.mix(0.3)
            };
            let width = 1 + (5.0 * w.abs() / max).round() as u32;
            root.draw(&PathElement::new(
                vec![px(start), px(end)],
                colour.stroke_width(width),
            ))
            .map_err(err)?;
            let head = 10.0;
            let back = (end.0 - ux * head, end.1 - uy * head);
            let (nx, ny) = (-uy * head * 0.5, ux * head * 0.5);
            root.draw(&Polygon::new(
                vec![
                    px(end),
                    px((back.0 + nx, back.1 + ny)),
                    px((back.0 - nx, back.1 - ny)),
                ],
                colour.filled(),
            ))
            .map_err(err)?;
        }
        for (i, label) in self.nodes.iter().enumerate() {
            let p = at(i);
            root.draw(&Circle::new(
                px(p),
                NODE as i32,
                RGBColor(240, 240, 240).filled(),
            ))
            .map_err(err)?;
            root.draw(&Circle::new(px(p), NODE as i32, BLACK.stroke_width(1)))
                .map_err(err)?;
            // Labels sit outside the circle, on the node's own radius.
            let out = (p.0 - cx, p.1 - cy);
            let norm = (out.0 * out.0 + out.1 * out.1).sqrt().max(1e-9);
            let lp = (p.0 + out.0 / norm * 22.0, p.1 + out.1 / norm * 22.0);
            // Anchored away from the circle, so a label never covers its node.
            let h = if out.0 > 1.0 {
                HPos::Left
            } else if out.0 < -1.0 {
                HPos::Right
            } else {
                HPos::Center
            };
            let style = ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(h, VPos::Center));
            root.draw(&Text::new(label.clone(), px(lp), style))
                .map_err(err)?;
        }
        Ok(())
    }
}

fn write_png(path: &Path, rgb: &[u8], (w, h): (u32, u32)) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .with_context(|| format!("writing {}", path.display()))?;
    writer
        .write_image_data(rgb)
        .with_context(|| format!("writing {}", path.display()))?;
    writer
        .finish()
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_writes_both_formats_with_its_node_labels() {
        let dir = tempfile::tempdir().expect("temp dir");
        NetworkChart {
            title: "Network".into(),
            nodes: vec!["affect +".into(), "affect -".into(), "outcome".into()],
            edges: vec![(0, 2, 0.4, true), (1, 2, -0.2, false), (2, 2, 0.9, true)],
        }
        .write(dir.path(), "network")
        .expect("draws");
        let svg = std::fs::read_to_string(dir.path().join("network.svg")).expect("svg");
        assert!(
            svg.contains("affect +") && svg.contains("outcome"),
            "labels missing"
        );
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(dir.path().join("network.png")).expect("png"),
        ));
        let reader = decoder.read_info().expect("valid png");
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }

    #[test]
    fn a_chart_writes_an_svg_with_its_labels_and_a_decodable_png() {
        let dir = tempfile::tempdir().expect("temp dir");
        let chart = LineChart {
            title: "Outcome".into(),
            x_label: "week".into(),
            y_label: "well-being".into(),
            series: vec![Series {
                name: "engine".into(),
                points: vec![(0.0, 40.0), (1.0, 42.0), (2.0, 45.0)],
                band: vec![(0.0, 39.0, 41.0), (1.0, 41.0, 43.0), (2.0, 44.0, 46.0)],
            }],
        };
        chart.write(dir.path(), "outcome").expect("draws");
        let svg = std::fs::read_to_string(dir.path().join("outcome.svg")).expect("svg");
        assert!(
            svg.contains("engine") && svg.contains("well-being"),
            "labels missing"
        );
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(dir.path().join("outcome.png")).expect("png"),
        ));
        let reader = decoder.read_info().expect("valid png");
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }
}
