//! How the domain's exact types are kept in SQLite: decimals, quantities and currencies as
//! canonical text, sides as `BUY`/`SELL`. Reading a value that does not parse is a conversion
//! error naming the column, never a panic or a silent default.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::{Currency, Decimal, Quantity, Side};

/// Parses a TEXT column with `parse`; any other storage class is a type error.
fn parse_text<T, E>(
    value: ValueRef<'_>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> FromSqlResult<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text = value.as_str()?;
    parse(text).map_err(|e| FromSqlError::Other(Box::new(e)))
}

impl ToSql for Decimal {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Decimal {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        parse_text(value, str::parse)
    }
}

impl ToSql for Quantity {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Quantity {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        parse_text(value, str::parse)
    }
}

impl ToSql for Currency {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str().to_string()))
    }
}

impl FromSql for Currency {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        parse_text(value, Currency::new)
    }
}

impl ToSql for Side {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(side_text(*self)))
    }
}

impl FromSql for Side {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "BUY" => Ok(Side::Buy),
            "SELL" => Ok(Side::Sell),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

pub(crate) fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}
