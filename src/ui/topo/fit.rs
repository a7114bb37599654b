//! A line of the picture in the columns a terminal has: too wide, it is cut and ends in `…`
//! (unless all it loses is a box's padding and right edge). The marks are the first columns
//! of every line, so cutting never loses them.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::lines::{Seg, Tone, TopoLine};

/// `l`'s segments in at most `room` columns.
pub fn fit(l: &TopoLine, room: usize) -> Vec<Seg> {
    let total: usize = l.segs.iter().map(|s| s.0.width()).sum();
    if total <= room {
        return l.segs.clone();
    }
    let mut left = room.saturating_sub(1);
    let mut out = Vec::new();
    let mut rest = String::new();
    for s in &l.segs {
        if !rest.is_empty() || left == 0 {
            rest.push_str(&s.0);
            continue;
        }
        let mut cut = String::new();
        for (i, c) in s.0.char_indices() {
            let w = c.width().unwrap_or(0);
            if w > left {
                left = 0;
                rest.push_str(&s.0[i..]);
                break;
            }
            left -= w;
            cut.push(c);
        }
        out.push(Seg(cut, s.1));
    }
    // What is cut off is only a box's padding and edge: nothing is lost but the frame.
    let only_frame = rest.chars().all(|c| c == ' ' || c == '│');
    if !only_frame && room > 0 {
        out.push(Seg("…".into(), Tone::Dim));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::topo::lines::seg;

    fn line(parts: &[(&str, Tone)]) -> TopoLine {
        TopoLine {
            segs: parts.iter().map(|(t, k)| seg(t.to_string(), *k)).collect(),
            ..TopoLine::default()
        }
    }

    fn text(segs: &[Seg]) -> String {
        segs.iter().map(|s| s.0.as_str()).collect()
    }

    #[test]
    fn a_wide_line_is_cut_with_an_ellipsis_and_keeps_its_marks() {
        let l = line(&[
            ("✗  ", Tone::Error),
            ("veth41 ══ eth0 ▸ [ svc-41 ]", Tone::Plain),
            (" ◂ on the wrong subnet", Tone::Error),
        ]);
        let cut = fit(&l, 12);
        assert_eq!(text(&cut), "✗  veth41 ═…");
        assert_eq!(cut[0].1, Tone::Error);
        assert_eq!(text(&cut).width(), 12);
        assert_eq!(text(&fit(&l, 200)), text(&l.segs));
        assert_eq!(text(&fit(&l, 0)), "");
    }

    #[test]
    fn a_box_line_losing_only_its_padding_needs_no_ellipsis() {
        let l = line(&[
            ("   │ ", Tone::Frame),
            ("forwarding on", Tone::Plain),
            ("      │", Tone::Frame),
        ]);
        assert_eq!(text(&fit(&l, 20)), "   │ forwarding on ");
        assert_eq!(text(&fit(&l, 10)), "   │ forw…");
    }
}
