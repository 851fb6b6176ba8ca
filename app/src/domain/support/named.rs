//! Enums whose variants each have a fixed name: the one in URLs, form values and the database.

/// Declares an enum with, for each variant, its name (`as_str`, `parse`, and `ALL` in declaration order) and,
/// when every variant has one, its words for people (`label`). The names are the ones stored and sent today, so
/// they must not change; serde's own names (the derive) are separate and stay as they were.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $str:literal => $label:literal),+ $(,)?
        }
    ) => {
        named_enum! {
            $(#[$meta])*
            $vis enum $name { $($(#[$vmeta])* $variant = $str),+ }
        }
        impl $name {
            /// In words, for people.
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label),+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $str:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [Self; [$($str),+].len()] = [$(Self::$variant),+];

            /// The name in URLs, forms and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $str),+
                }
            }

            /// The variant with this name, if any.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    named_enum! {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Labelled {
            One = "one" => "The first",
            Two = "two_words" => "The second",
        }
    }

    named_enum! {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Bare {
            Only = "only",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        assert_eq!(Labelled::ALL, [Labelled::One, Labelled::Two]);
        for v in Labelled::ALL {
            assert_eq!(Labelled::parse(v.as_str()), Some(v));
        }
        assert_eq!(Labelled::Two.as_str(), "two_words");
        assert_eq!(Labelled::Two.label(), "The second");
        assert_eq!(Labelled::parse("Two"), None, "names are exact");
        assert_eq!(Bare::parse("only"), Some(Bare::Only));
        assert_eq!(Bare::parse(""), None);
    }
}
