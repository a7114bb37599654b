//! Colours, or none: with `color` off (`NO_COLOR`, read once by `main` and passed in through
//! `Options::from_settings`) every colour is dropped and only bold/reverse stay, so the UI stays usable on any terminal.
use ratatui::style::{Color, Modifier, Style};

use super::topo::Tone;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn header(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn up(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn down(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    /// Rows the last live update changed.
    pub fn flash(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn focus_border(&self) -> Style {
        self.fg(Color::Cyan)
    }
    /// Lines of the picture that belong to the namespace selected on the left.
    pub fn related(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// A piece of the topology picture.
    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Plain => Style::new(),
            Tone::Frame => self.fg(Color::Blue),
            Tone::Ns => self.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Tone::Bridge => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Tone::Nat => self.fg(Color::Yellow),
            Tone::Bad | Tone::Error => self.down(),
            Tone::Dim => self.dim(),
            Tone::Warn | Tone::Changed => self.warn(),
            Tone::Info => self.fg(Color::Cyan),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NO_COLOR or `--color never`: not one colour, and the selection still shows (reverse).
    #[test]
    fn plain_theme_has_no_colour_but_a_visible_selection() {
        let plain = Theme { color: false };
        let mut styles = vec![
            plain.header(),
            plain.up(),
            plain.down(),
            plain.dim(),
            plain.warn(),
            plain.flash(),
            plain.focus_border(),
            plain.related(),
        ];
        for t in [
            Tone::Plain,
            Tone::Frame,
            Tone::Ns,
            Tone::Bridge,
            Tone::Nat,
            Tone::Bad,
            Tone::Dim,
        ] {
            styles.push(plain.tone(t));
        }
        for s in &styles {
            assert_eq!((s.fg, s.bg), (None, None), "{s:?}");
        }
        assert!(plain.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(Theme::default().down().fg, Some(Color::Red));
    }
}
