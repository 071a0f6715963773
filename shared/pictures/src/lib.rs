//! herald-pictures: chart pictures and the page snapshot, drawn in-process without a browser or
//! system fonts. Each chart becomes an SVG card (KPI tile, bars, line, table, count, or its
//! problem), cards are laid out in a two-column grid under the page title, and the SVG is
//! rasterised to PNG by resvg (pure Rust, deterministic, with text shaping) with one embedded
//! CJK-capable font, WenQuanYi Micro Hei (Apache-2.0; see `fonts/README.md`).
//!
//! [`Pictures`] implements `herald_core::ports::PictureRenderer`; build one per process (it holds
//! the parsed font).
mod cards;
mod kinds;
pub mod samples;
mod style;
mod svg;

use herald_core::domain::contact::Language;
use herald_core::domain::image::Image;
use herald_core::domain::report::{ChartReport, PageReport};
use herald_core::ports::{PictureError, PictureRenderer};
use resvg::{tiny_skia, usvg};
use std::sync::Arc;

/// The font every picture is set in, embedded in the binary.
pub static FONT: &[u8] = include_bytes!("../fonts/wqy-microhei.ttc");
/// Its family name.
pub const FONT_FAMILY: &str = "WenQuanYi Micro Hei";
/// The largest PNG every channel takes: DingTalk's `media/upload` takes 1 MB (WeCom and its robot
/// 2 MB, Feishu 10 MB). A page drawn larger is drawn smaller, never sent without its picture.
pub const MAX_PNG_BYTES: usize = herald_core::domain::limits::dingtalk::IMAGE_MAX_BYTES;

/// Pictures drawn at once per process: each holds a pixmap of up to 32 MiB, and drawing is CPU
/// work, so more at once would only add memory (20 previews at once stay within ~100 MiB).
pub const RENDERS_AT_ONCE: usize = 2;

/// The picture renderer: SVG built from figures, rasterised with resvg.
pub struct Pictures {
    fonts: Arc<usvg::fontdb::Database>,
    renders: Arc<RenderSlots>,
}

/// A counting semaphore for blocking threads (pictures are drawn on the blocking pool).
#[derive(Default)]
struct RenderSlots {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl RenderSlots {
    fn acquire(&self) -> RenderSlot<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= RENDERS_AT_ONCE {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        RenderSlot(self)
    }
}

struct RenderSlot<'a>(&'a RenderSlots);

impl Drop for RenderSlot<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

impl Default for Pictures {
    fn default() -> Self {
        Self::new()
    }
}

impl Pictures {
    pub fn new() -> Self {
        let mut fonts = usvg::fontdb::Database::new();
        fonts.load_font_data(FONT.to_vec());
        Self {
            fonts: Arc::new(fonts),
            renders: Arc::default(),
        }
    }

    /// The SVG of the page snapshot (what [`PictureRenderer::page_snapshot`] rasterises).
    pub fn page_svg(&self, page: &PageReport) -> svg::Drawing {
        cards::page(page)
    }

    /// Rasterises `drawing` within [`cards::MAX_PAGE_PIXELS`], drawing it smaller until the PNG
    /// fits [`MAX_PNG_BYTES`]; at most [`RENDERS_AT_ONCE`] at a time.
    fn rasterise(&self, drawing: &svg::Drawing) -> Result<Image, PictureError> {
        let _slot = self.renders.acquire();
        let options = usvg::Options {
            font_family: FONT_FAMILY.to_owned(),
            fontdb: Arc::clone(&self.fonts),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&drawing.to_svg(), &options)
            .map_err(|e| PictureError::Draw(format!("invalid SVG: {e}")))?;
        let pixels = f64::from(drawing.width) * f64::from(drawing.height);
        let mut scale = (cards::MAX_PAGE_PIXELS as f64 / pixels).sqrt().min(1.0) as f32;
        loop {
            let width = ((drawing.width as f32) * scale).ceil() as u32;
            let height = ((drawing.height as f32) * scale).ceil() as u32;
            let mut pixmap =
                tiny_skia::Pixmap::new(width.max(1), height.max(1)).ok_or_else(|| {
                    PictureError::Draw(format!("a {width}×{height} picture is too large"))
                })?;
            resvg::render(
                &tree,
                tiny_skia::Transform::from_scale(scale, scale),
                &mut pixmap.as_mut(),
            );
            let png = encode_opaque(pixmap)
                .map_err(|e| PictureError::Draw(format!("PNG encoding failed: {e}")))?;
            if png.len() <= MAX_PNG_BYTES || scale < 0.2 {
                return Ok(Image::png(png, width, height));
            }
            tracing::info!(
                bytes = png.len(),
                scale,
                "snapshot over 1 MB: drawing it smaller"
            );
            scale *= 0.7;
        }
    }
}

/// PNG of a picture drawn on an opaque background: RGB, so there is no alpha to store or
/// un-premultiply (measured: a 12-chart page in 129 ms instead of 202 ms, 289 KiB). `Fast` would
/// halve the time again but nearly double the file, and the file goes into every mail.
fn encode_opaque(pixmap: tiny_skia::Pixmap) -> Result<Vec<u8>, String> {
    let (width, height) = (pixmap.width(), pixmap.height());
    // RGBA → RGB in the pixmap's own buffer (forward: pixel i moves from 4i to 3i ≤ 4i), so a
    // tall page is never held twice.
    let mut data = pixmap.take();
    let pixels = data.len() / 4;
    for i in 0..pixels {
        data.copy_within(4 * i..4 * i + 3, 3 * i);
    }
    data.truncate(pixels * 3);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&data))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

impl PictureRenderer for Pictures {
    fn page_snapshot(&self, page: &PageReport) -> Result<Image, PictureError> {
        self.rasterise(&cards::page(page))
    }

    fn chart_picture(
        &self,
        chart: &ChartReport,
        language: Language,
    ) -> Result<Image, PictureError> {
        self.rasterise(&cards::single(chart, language))
    }
}

pub use cards::MAX_PAGE_PIXELS;
pub use svg::Drawing;
