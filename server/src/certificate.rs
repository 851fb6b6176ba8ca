//! The QTS certificate as a PDF (DESIGN §7.2, last line): one A4 page in Helvetica, a font every PDF reader has,
//! so no font file ships with the service. What it says, and how a name is made fit for that font, are domain
//! rules ([`app::domain::certificate`]); this only lays it out.

use app::domain::certificate::{for_builtin_font, QtsCertificate, ISSUER, TITLE};
use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rgb, TextItem,
};

/// GOV.UK's text colour and its blue, for the rule under the title.
const TEXT: (f32, f32, f32) = (0.043, 0.047, 0.047);
const BLUE: (f32, f32, f32) = (0.114, 0.439, 0.722);

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// One line of text at `y` mm from the bottom of the page, 25 mm from its left edge.
fn line(ops: &mut Vec<Op>, y: f32, font: BuiltinFont, size: f32, text: &str) {
    ops.extend([
        Op::StartTextSection,
        Op::SetFont {
            font: PdfFontHandle::Builtin(font),
            size: Pt(size),
        },
        Op::SetTextCursor {
            pos: Point::new(Mm(25.0), Mm(y)),
        },
        Op::ShowText {
            items: vec![TextItem::Text(for_builtin_font(text))],
        },
        Op::EndTextSection,
    ]);
}

/// The certificate as the bytes of a PDF file.
pub fn qts_certificate_pdf(certificate: &QtsCertificate) -> Vec<u8> {
    let mut ops = vec![Op::SaveGraphicsState, Op::SetFillColor { col: rgb(TEXT) }];
    line(&mut ops, 262.0, BuiltinFont::Helvetica, 14.0, ISSUER);
    line(&mut ops, 245.0, BuiltinFont::HelveticaBold, 30.0, TITLE);
    ops.extend([
        Op::SetOutlineColor { col: rgb(BLUE) },
        Op::SetOutlineThickness { pt: Pt(3.0) },
        Op::DrawLine {
            line: Line {
                points: [25.0, 185.0]
                    .into_iter()
                    .map(|x| LinePoint {
                        p: Point::new(Mm(x), Mm(238.0)),
                        bezier: false,
                    })
                    .collect(),
                is_closed: false,
            },
        },
    ]);
    line(
        &mut ops,
        222.0,
        BuiltinFont::Helvetica,
        14.0,
        "This is to certify that",
    );
    line(
        &mut ops,
        208.0,
        BuiltinFont::HelveticaBold,
        22.0,
        &certificate.name,
    );
    line(
        &mut ops,
        194.0,
        BuiltinFont::Helvetica,
        14.0,
        "was awarded qualified teacher status (QTS).",
    );
    let rows = [
        ("Teacher reference number (TRN)", certificate.trn.clone()),
        ("Date QTS awarded", certificate.awarded_text()),
    ];
    let mut y = 172.0;
    for (label, value) in rows {
        line(&mut ops, y, BuiltinFont::Helvetica, 12.0, label);
        line(&mut ops, y - 8.0, BuiltinFont::HelveticaBold, 16.0, &value);
        y -= 24.0;
    }
    line(
        &mut ops,
        40.0,
        BuiltinFont::Helvetica,
        11.0,
        &format!("Issued by the {ISSUER}, an executive agency of the Department for Education."),
    );
    ops.push(Op::RestoreGraphicsState);
    let page = PdfPage::new(Mm(210.0), Mm(297.0), ops);
    // Nothing the certificate holds can make a warning: the text is all in the font's encoding, there are no
    // images or embedded fonts.
    let mut warnings = Vec::new();
    PdfDocument::new(TITLE)
        .with_pages(vec![page])
        .save(&PdfSaveOptions::default(), &mut warnings)
}
