{#-
    Normalisation rules of identity resolution (models/intermediate/identity).
    Each macro turns one delivered text expression into a comparable key, the same
    on DuckDB and PostgreSQL: only lower/trim/replace/regexp_replace/split_part plus
    two adapter-dispatched helpers (accent folding, token sorting).
    Unit tests of int_identity__nodes (its yml) pin the behaviour.
-#}

{#- Countries' calling codes for national numbers (0301234567 in DE -> +49301234567). -#}
{% macro identity_calling_codes() -%}
    {{ return(var('identity_calling_codes', {
        'DE': '49', 'AT': '43', 'CH': '41', 'GB': '44', 'FR': '33', 'NL': '31', 'BE': '32',
        'LU': '352', 'IT': '39', 'ES': '34', 'PT': '351', 'PL': '48', 'CZ': '420', 'DK': '45',
        'SE': '46', 'NO': '47', 'FI': '358', 'IE': '353', 'US': '1', 'CA': '1'
    })) }}
{%- endmacro %}

{#- E-mail domains shared by many unrelated people: never evidence of one company. -#}
{% macro identity_freemail_domains() -%}
    {{ return(var('identity_freemail_domains', [
        'gmail.com', 'googlemail.com', 'web.de', 'gmx.de', 'gmx.net', 'gmx.at', 'gmx.ch', 'outlook.com',
        'hotmail.com', 'live.com', 'msn.com', 'yahoo.com', 'yahoo.de', 'yahoo.fr', 'yahoo.co.uk',
        't-online.de', 'orange.fr', 'free.fr', 'laposte.net', 'bluewin.ch', 'icloud.com', 'me.com',
        'aol.com', 'mail.de', 'posteo.de', 'protonmail.com', 'proton.me', 'freenet.de', 'btinternet.com'
    ])) }}
{%- endmacro %}

{#- Legal-form tokens dropped from company names (after dots are removed: g.m.b.h. -> gmbh, Co.KG -> cokg). -#}
{% macro identity_legal_suffixes() -%}
    {{ return(var('identity_legal_suffixes', [
        'gmbh', 'gesmbh', 'mbh', 'ag', 'kg', 'cokg', 'kgaa', 'ohg', 'ug', 'ev', 'co', 'and', 'und',
        'ltd', 'limited', 'plc', 'llc', 'llp', 'inc', 'corp', 'corporation', 'company',
        'sa', 'sas', 'sarl', 'sasu', 'eurl', 'snc', 'sl', 'srl', 'spa', 'bv', 'nv', 'ab', 'as', 'aps', 'oy'
    ])) }}
{%- endmacro %}

{#- Global regular-expression replace (POSIX syntax common to RE2 and PostgreSQL). -#}
{% macro identity_regexp_replace(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- Lower-case, accents folded (é -> e, ü -> u, ß -> ss, ł -> l, ø -> o). -#}
{% macro identity_fold(expr) -%}
    {{ return(adapter.dispatch('identity_fold', 'crmwh')(expr)) }}
{%- endmacro %}

{% macro default__identity_fold(expr) -%}
    strip_accents(replace(replace(replace(replace(replace(lower({{ expr }}), 'ß', 'ss'), 'ł', 'l'), 'ø', 'o'), 'æ', 'ae'), 'œ', 'oe'))
{%- endmacro %}

{#-
    PostgreSQL without the unaccent extension: translate() over the Latin letters we meet,
    in both cases and before lower(), because lower() leaves non-ASCII letters alone in a
    database with the C locale.
-#}
{% macro postgres__identity_fold(expr) -%}
    lower(translate(
        replace(replace(replace(replace(replace(replace(replace(replace(replace({{ expr }},
            'ß', 'ss'), 'ẞ', 'SS'), 'ł', 'l'), 'Ł', 'L'), 'ø', 'o'), 'Ø', 'O'), 'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe'),
        'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥìíîïĩīĭįıĵķĺļľŀñńņňòóôõöōŏőùúûüũūŭůűųŵýÿŷźżžśŝşšţťŕŗřÀÁÂÃÄÅĀĂĄÇĆĈĊČĎĐÈÉÊËĒĔĖĘĚĜĞĠĢĤÌÍÎÏĨĪĬĮĴĶĹĻĽĿÑŃŅŇÒÓÔÕÖŌŎŐÙÚÛÜŨŪŬŮŰŲŴÝŸŶŹŻŽŚŜŞŠŢŤŔŖŘ',
        'aaaaaaaaacccccddeeeeeeeeegggghiiiiiiiiijkllllnnnnoooooooouuuuuuuuuuwyyyzzzssssttrrrAAAAAAAAACCCCCDDEEEEEEEEEGGGGHIIIIIIIIJKLLLLNNNNOOOOOOOOUUUUUUUUUUWYYYZZZSSSSTTRRR'
    ))
{%- endmacro %}

{#- Space-separated tokens sorted alphabetically ("muller anna" and "anna muller" give "anna muller"). -#}
{% macro identity_sort_tokens(expr) -%}
    {{ return(adapter.dispatch('identity_sort_tokens', 'crmwh')(expr)) }}
{%- endmacro %}

{% macro default__identity_sort_tokens(expr) -%}
    array_to_string(list_sort(string_split({{ expr }}, ' ')), ' ')
{%- endmacro %}

{% macro postgres__identity_sort_tokens(expr) -%}
    (select string_agg(token, ' ' order by token collate "C") from unnest(string_to_array({{ expr }}, ' ')) as token)
{%- endmacro %}

{#- Letters and digits only, single spaces, trimmed; null when nothing is left. -#}
{% macro identity_clean_words(expr) -%}
    nullif(trim({{ identity_regexp_replace(identity_regexp_replace(identity_fold(expr), '[^a-z0-9]+', ' '), ' +', ' ') }}), '')
{%- endmacro %}

{#- E-mail: trimmed, lower-case; null unless it looks like local@domain.tld. -#}
{% macro identity_email(expr) -%}
    case
        when {{ crmwh_regex_matches('lower(trim(' ~ expr ~ '))', '^[^@ ]+@[^@ ]+[.][a-z]{2,}$') }}
            then lower(trim({{ expr }}))
    end
{%- endmacro %}

{#- The domain of a normalised e-mail. -#}
{% macro identity_email_domain(email_expr) -%}
    {{ dbt.split_part(email_expr, "'@'", 2) }}
{%- endmacro %}

{#- A website's host without scheme, www. and path (https://www.acme.de/x -> acme.de). -#}
{% macro identity_website_domain(expr) -%}
    nullif({{ dbt.split_part(identity_regexp_replace('lower(trim(' ~ expr ~ '))', '^([a-z]+://)?(www[.])?', ''), "'/'", 1) }}, '')
{%- endmacro %}

{#- Is a (lower-case) domain a freemail provider? -#}
{% macro identity_is_freemail(domain_expr) -%}
    ({{ domain_expr }} in ({% for d in identity_freemail_domains() %}'{{ d }}'{% if not loop.last %}, {% endif %}{% endfor %}))
{%- endmacro %}

{#- Calling code of an ISO country code expression (null when unknown). -#}
{% macro identity_calling_code(country_expr) -%}
    case upper(trim({{ country_expr }}))
        {%- for country, code in identity_calling_codes().items() %}
        when '{{ country }}' then '{{ code }}'
        {%- endfor %}
    end
{%- endmacro %}

{#-
    Phone to E.164 (+<country code><national number>, digits only):
    a bracketed trunk '(0)' dropped, then punctuation and spaces; a leading 00 becomes +; a national number (leading 0)
    takes the calling code of `country_expr`, else of var identity_default_country (DE);
    11-15 bare digits are read as already international. Null when the result is not
    + followed by 8 to 15 digits.
-#}
{% macro identity_phone_e164(expr, country_expr="null") -%}
    {%- set candidate = identity_phone_candidate(expr, country_expr) -%}
    case when {{ crmwh_regex_matches(candidate, '^[+][1-9][0-9]{7,14}$') }} then {{ candidate }} end
{%- endmacro %}

{% macro identity_phone_candidate(expr, country_expr="null") -%}
    {#- '+49 (0)30 ...': the bracketed trunk 0 is not dialled from abroad -#}
    {%- set digits = identity_regexp_replace("replace(" ~ expr ~ ", '(0)', '')", '[^0-9+]', '') -%}
    {%- set default_code = identity_calling_codes()[var('identity_default_country', 'DE')] -%}
    (case
        when {{ digits }} like '+%' then '+' || {{ identity_regexp_replace(digits, '[^0-9]', '') }}
        when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
        when {{ digits }} like '0%' then '+' || coalesce({{ identity_calling_code(country_expr) }}, '{{ default_code }}') || substr({{ digits }}, 2)
        when length({{ digits }}) between 11 and 15 then '+' || {{ digits }}
    end)
{%- endmacro %}

{#- Person name: folded, punctuation dropped ("Müller, Anna" -> "anna muller"), tokens sorted so swapped names agree. -#}
{% macro identity_person_name(expr) -%}
    {{ identity_sort_tokens(identity_clean_words(expr)) }}
{%- endmacro %}

{#-
    Company name: folded, dots dropped (G.m.b.H. -> gmbh), other punctuation a space,
    legal-form tokens removed, then spaces removed ("Nord Technik GmbH & Co. KG" -> "nordtechnik").
    Null when nothing but legal forms is left.
-#}
{% macro identity_company_name(expr) -%}
    {%- set words = identity_clean_words("replace(" ~ expr ~ ", '.', '')") -%}
    {%- set padded = "' ' || replace(" ~ words ~ ", ' ', '  ') || ' '" -%}
    nullif(replace({{ identity_regexp_replace(padded, ' (' ~ (identity_legal_suffixes() | join('|')) ~ ') ', ' ') }}, ' ', ''), '')
{%- endmacro %}

{#- VAT id: upper-case letters and digits only. -#}
{% macro identity_vat_id(expr) -%}
    nullif(upper({{ identity_regexp_replace(expr, '[^A-Za-z0-9]', '') }}), '')
{%- endmacro %}
