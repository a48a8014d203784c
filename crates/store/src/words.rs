//! Enums stored as words in the database.

/// Implements `as_str`, `FromStr` and `Display` for an enum stored as one word per variant.
macro_rules! stored_words {
    ($type:ty { $($variant:ident = $word:literal),* }) => {
        impl $type {
            /// The word stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word,)* }
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $crate::Error;

            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::Error> {
                match s {
                    $($word => Ok(Self::$variant),)*
                    _ => Err($crate::Error::Invalid(format!("{s:?} is not a {}", stringify!($type)))),
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use stored_words;
