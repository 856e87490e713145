/* yaml_emit_test.c -- the emitter against what kubectl v1.32 (kustomize v5.5.0) prints */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_emit.h"
#include "gitfleet/yaml_parse.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Every expected text in the tables below was printed by `kubectl kustomize`
 * for a resource holding `k: VALUE` (the resource's other fields cut away),
 * so each row is an observation, not a guess. A string literal with its
 * length keeps embedded NULs.
 */
#define S(lit) lit, sizeof(lit) - 1

struct string_case {
    const char *value;
    size_t value_len;
    const char *yaml;
    size_t yaml_len;
};

static const struct string_case string_cases[] = {
    /* values YAML 1.1 reads as bool, null, int, float, base-60 or timestamp: double quotes */
    {S("true"), S("k: \"true\"\n")},
    {S("True"), S("k: \"True\"\n")},
    {S("TRUE"), S("k: \"TRUE\"\n")},
    {S("false"), S("k: \"false\"\n")},
    {S("y"), S("k: \"y\"\n")},
    {S("Y"), S("k: \"Y\"\n")},
    {S("yes"), S("k: \"yes\"\n")},
    {S("Yes"), S("k: \"Yes\"\n")},
    {S("YES"), S("k: \"YES\"\n")},
    {S("n"), S("k: \"n\"\n")},
    {S("N"), S("k: \"N\"\n")},
    {S("no"), S("k: \"no\"\n")},
    {S("NO"), S("k: \"NO\"\n")},
    {S("on"), S("k: \"on\"\n")},
    {S("On"), S("k: \"On\"\n")},
    {S("ON"), S("k: \"ON\"\n")},
    {S("off"), S("k: \"off\"\n")},
    {S("Off"), S("k: \"Off\"\n")},
    {S("OFF"), S("k: \"OFF\"\n")},
    {S(""), S("k: \"\"\n")},
    {S("~"), S("k: \"~\"\n")},
    {S("null"), S("k: \"null\"\n")},
    {S("Null"), S("k: \"Null\"\n")},
    {S("NULL"), S("k: \"NULL\"\n")},
    {S("1"), S("k: \"1\"\n")},
    {S("-1"), S("k: \"-1\"\n")},
    {S("+1"), S("k: \"+1\"\n")},
    {S("017"), S("k: \"017\"\n")},
    {S("0x1F"), S("k: \"0x1F\"\n")},
    {S("0o17"), S("k: \"0o17\"\n")},
    {S("0b101"), S("k: \"0b101\"\n")},
    {S("-0b101"), S("k: \"-0b101\"\n")},
    {S("1_000"), S("k: \"1_000\"\n")},
    {S("-0"), S("k: \"-0\"\n")},
    {S("+0x10"), S("k: \"+0x10\"\n")},
    {S("019"), S("k: \"019\"\n")},
    {S("09"), S("k: \"09\"\n")},
    {S("1.5"), S("k: \"1.5\"\n")},
    {S(".5"), S("k: \".5\"\n")},
    {S("1."), S("k: \"1.\"\n")},
    {S("1e3"), S("k: \"1e3\"\n")},
    {S("1.20"), S("k: \"1.20\"\n")},
    {S(".inf"), S("k: \".inf\"\n")},
    {S(".Inf"), S("k: \".Inf\"\n")},
    {S("-.inf"), S("k: \"-.inf\"\n")},
    {S("+.INF"), S("k: \"+.INF\"\n")},
    {S(".nan"), S("k: \".nan\"\n")},
    {S(".NaN"), S("k: \".NaN\"\n")},
    {S("1:20"), S("k: \"1:20\"\n")},
    {S("12:30:45"), S("k: \"12:30:45\"\n")},
    {S("-1:20"), S("k: \"-1:20\"\n")},
    {S("190:20:30.15"), S("k: \"190:20:30.15\"\n")},
    {S("2024-01-01"), S("k: \"2024-01-01\"\n")},
    {S("2024-1-1"), S("k: \"2024-1-1\"\n")},
    {S("2001-12-14t21:59:43.10-05:00"), S("k: \"2001-12-14t21:59:43.10-05:00\"\n")},
    {S("2001-12-14 21:59:43.10"), S("k: \"2001-12-14 21:59:43.10\"\n")},
    {S("2024-01-01T10:00:00Z"), S("k: \"2024-01-01T10:00:00Z\"\n")},
    {S("2024-01-01T10:00:00.5+01:00"), S("k: \"2024-01-01T10:00:00.5+01:00\"\n")},
    {S(".5_5"), S("k: \".5_5\"\n")},
    {S("1__0"), S("k: \"1__0\"\n")},
    {S("-.5e3"), S("k: \"-.5e3\"\n")},
    /* look-alikes that stay strings under YAML 1.1, and indicators plain text may hold */
    {S("1e"), S("k: 1e\n")},
    {S("0.1.2"), S("k: 0.1.2\n")},
    {S("2024-02-30"), S("k: 2024-02-30\n")},
    {S("2024-01-01T10:00:00"), S("k: 2024-01-01T10:00:00\n")},
    {S("2024-13-01"), S("k: 2024-13-01\n")},
    {S("1:60"), S("k: 1:60\n")},
    {S("0x"), S("k: 0x\n")},
    {S("0xFFFFFFFFFFFFFFFFFF"), S("k: 0xFFFFFFFFFFFFFFFFFF\n")},
    {S("1e400"), S("k: 1e400\n")},
    {S(".e1"), S("k: .e1\n")},
    {S("_1"), S("k: _1\n")},
    {S("+inf"), S("k: +inf\n")},
    {S("nan"), S("k: nan\n")},
    {S("Infinity"), S("k: Infinity\n")},
    {S("nULL"), S("k: nULL\n")},
    {S("yes!"), S("k: yes!\n")},
    {S("="), S("k: =\n")},
    {S("<<"), S("k: <<\n")},
    {S(":foo"), S("k: :foo\n")},
    {S("-a"), S("k: -a\n")},
    {S("?a"), S("k: ?a\n")},
    {S("a,b"), S("k: a,b\n")},
    {S("a{b"), S("k: a{b\n")},
    {S("a[b]"), S("k: a[b]\n")},
    {S("a*b"), S("k: a*b\n")},
    {S("a&b"), S("k: a&b\n")},
    {S("a!b"), S("k: a!b\n")},
    {S("a|b"), S("k: a|b\n")},
    {S("a>b"), S("k: a>b\n")},
    {S("a%b"), S("k: a%b\n")},
    {S("a@b"), S("k: a@b\n")},
    {S("a#b"), S("k: a#b\n")},
    {S("a\\b"), S("k: a\\b\n")},
    {S("say \"hi\""), S("k: say \"hi\"\n")},
    {S("it's"), S("k: it's\n")},
    {S("http://x.y/z?a=b#c"), S("k: http://x.y/z?a=b#c\n")},
    {S("héllo"), S("k: héllo\n")},
    {S("日本語"), S("k: 日本語\n")},
    {S("a:b"), S("k: a:b\n")},
    {S("a\xc2\xa0"
       "b"),
     S("k: a\xc2\xa0"
       "b\n")},
    {S("a\xe2\x80\xa9"), S("k: 'a\xe2\x80\xa9'\n")},
    /* plain refused (indicators, edge spaces, document markers): single quotes */
    {S("&foo"), S("k: '&foo'\n")},
    {S("*foo"), S("k: '*foo'\n")},
    {S("!foo"), S("k: '!foo'\n")},
    {S("[a]"), S("k: '[a]'\n")},
    {S("{a}"), S("k: '{a}'\n")},
    {S("%a"), S("k: '%a'\n")},
    {S("@a"), S("k: '@a'\n")},
    {S("|a"), S("k: '|a'\n")},
    {S(">a"), S("k: '>a'\n")},
    {S("#a"), S("k: '#a'\n")},
    {S("`a"), S("k: '`a'\n")},
    {S(",a"), S("k: ',a'\n")},
    {S("- a"), S("k: '- a'\n")},
    {S("-"), S("k: '-'\n")},
    {S("?"), S("k: '?'\n")},
    {S(":"), S("k: ':'\n")},
    {S("!"), S("k: '!'\n")},
    {S("a: b"), S("k: 'a: b'\n")},
    {S("a:"), S("k: 'a:'\n")},
    {S("end:"), S("k: 'end:'\n")},
    {S("a #b"), S("k: 'a #b'\n")},
    {S(" a"), S("k: ' a'\n")},
    {S("a "), S("k: 'a '\n")},
    {S("x y "), S("k: 'x y '\n")},
    {S(" "), S("k: ' '\n")},
    {S("  "), S("k: '  '\n")},
    {S("---"), S("k: '---'\n")},
    {S("..."), S("k: '...'\n")},
    {S("---x"), S("k: '---x'\n")},
    {S("...x"), S("k: '...x'\n")},
    {S("\"a"), S("k: '\"a'\n")},
    {S("'a"), S("k: '''a'\n")},
    {S("it's: x"), S("k: 'it''s: x'\n")},
    {S("? a"), S("k: '? a'\n")},
    {S(": a"), S("k: ': a'\n")},
    {S("a\xe2\x80\xa8"
       "b"),
     S("k: 'a\xe2\x80\xa8  b'\n")},
    /* characters outside v2's printable set force double quotes and escapes */
    {S("a\tb"), S("k: \"a\\tb\"\n")},
    {S("\x1b[0m"), S("k: \"\\e[0m\"\n")},
    {S("a\x00"
       "b"),
     S("k: \"a\\0b\"\n")},
    {S("a\x0d"
       "b"),
     S("k: \"a\\rb\"\n")},
    {S("\x01"), S("k: \"\\x01\"\n")},
    {S("\xef\xbb\xbf"
       "a"),
     S("k: \"\\uFEFF\\x61\"\n")},
    {S("\xef\xbb\xbf"), S("k: \"\\uFEFF\"\n")},
    {S("x\xef\xbb\xbfy"), S("k: \"x\\uFEFFy\"\n")},
    {S("\xf0\x9f\x98\x80"), S("k: \"\\U0001F600\"\n")},
    {S("a\xf0\x9f\x98\x80"
       "b"),
     S("k: \"a\\U0001F600b\"\n")},
    {S("x\x08"), S("k: \"x\\b\"\n")},
    {S("é"), S("k: é\n")},
    /* a newline asks for a literal block; the header carries indent and chomping hints */
    {S("line1\nline2\n"), S("k: |\n  line1\n  line2\n")},
    {S("line1\nline2"), S("k: |-\n  line1\n  line2\n")},
    {S("line1\nline2\n\n"), S("k: |+\n  line1\n  line2\n\n")},
    {S("  indented\nline2\n"), S("k: |2\n    indented\n  line2\n")},
    {S("\nabc\n"), S("k: |2\n\n  abc\n")},
    {S("\n"), S("k: |2+\n\n")},
    {S("\n\n"), S("k: |2+\n\n\n")},
    {S("a\n\n\nb\n"), S("k: |\n  a\n\n\n  b\n")},
    {S("x\n  y\n"), S("k: |\n  x\n    y\n")},
    {S("a\xe2\x80\xa8"
       "b\nc\n"),
     S("k: |\n  a\xe2\x80\xa8  b\n  c\n")},
    {S("é\n日本\n"), S("k: |\n  é\n  日本\n")},
    /* literal blocks refused (space before a break, trailing space, specials): double quotes */
    {S("line1 \nline2\n"), S("k: \"line1 \\nline2\\n\"\n")},
    {S("x\n "), S("k: \"x\\n \"\n")},
    {S("a\tb\nc\n"), S("k: \"a\\tb\\nc\\n\"\n")},
    {S("a\x0d\nb\n"), S("k: \"a\\r\\nb\\n\"\n")},
    {S("\xf0\x9f\x98\x80\nx\n"), S("k: \"\\U0001F600\\nx\\n\"\n")},
    {S(" \n"), S("k: \" \\n\"\n")},
    /* folding at best_width 80: a space breaks once the line is past column 80 */
    {S("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv"),
     S("k: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq "
       "rrrr ssss tttt uuuu vvvv\n")},
    {S("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo"),
     S("k: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo\n")},
    {S("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp"),
     S("k: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n")},
    {S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxx yyyyyyyyyy"),
     S("k: "
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxx\n  yyyyyyyyyy\n")},
    {S("aaaa  bbbb  cccc  dddd  eeee  ffff  gggg  hhhh  iiii  jjjj  kkkk  llll  mmmm  nnnn  oooo  "
       "pppp  qqqq  rrrr  ssss  tttt  uuuu  vvvv"),
     S("k: aaaa  bbbb  cccc  dddd  eeee  ffff  gggg  hhhh  iiii  jjjj  kkkk  llll  mmmm  nnnn  "
       "oooo  pppp  qqqq  rrrr  ssss  tttt  uuuu  vvvv\n")},
    {S("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv "),
     S("k: 'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv '\n")},
    {S(" aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv"),
     S("k: ' aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv'\n")},
    {S("tab\there cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv"),
     S("k: \"tab\\there cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv\"\n")},
    {S("'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv'"),
     S("k: '''aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv'''\n")},
    {S("aaaa bbbb cc'c dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv: z"),
     S("k: 'aaaa bbbb cc''c dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv: z'\n")},
    {S("aaaa bbbb cccc dddd e\"e ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv"),
     S("k: aaaa bbbb cccc dddd e\"e ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq "
       "rrrr ssss tttt uuuu vvvv\n")},
    {S("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr "
       "ssss tttt uuuu vvvv\naaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn "
       "oooo pppp qqqq rrrr ssss tttt uuuu vvvv\n"),
     S("k: |\n  aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp "
       "qqqq rrrr ssss tttt uuuu vvvv\n  aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk "
       "llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv\n")},
    {S("éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé aaaa bbbb "
       "cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt "
       "uuuu vvvv"),
     S("k: éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\n  aaaa "
       "bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq rrrr "
       "ssss tttt uuuu vvvv\n")},
    {S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y\n")},
    {S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  y\n")},
    {S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  y"),
     S("k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  y\n")},
    {S("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: '''xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  "
       "y'\n")},
    {S("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: '''xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  "
       "y'\n")},
    {S("\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: \"\\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  "
       "y\"\n")},
    {S("\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"),
     S("k: \"\\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  "
       "y\"\n")},
    {S("\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  y"),
     S("k: \"\\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  \\ "
       "y\"\n")},
    {S("éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé y"),
     S("k: éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\n  y\n")},
};

/* Values given as JSON: numbers, empty collections, nesting, keys. */
struct json_case {
    const char *json;
    size_t json_len;
    const char *yaml;
    size_t yaml_len;
};

static const struct json_case json_cases[] = {
    {S("1.5"), S("k: 1.5\n")},
    {S("0.1"), S("k: 0.1\n")},
    {S("0.0001"), S("k: 0.0001\n")},
    {S("123456.5"), S("k: 123456.5\n")},
    {S("1e-05"), S("k: 1e-05\n")},
    {S("-1e-07"), S("k: -1e-07\n")},
    {S("1234567.5"), S("k: 1.2345675e+06\n")},
    {S("1.7976931348623157e+308"), S("k: 1.7976931348623157e+308\n")},
    {S("1.0"), S("k: 1\n")},
    {S("3.0e2"), S("k: 300\n")},
    {S("1e3"), S("k: 1000\n")},
    {S("100000000.0"), S("k: 100000000\n")},
    {S("-0.0"), S("k: 0\n")},
    {S("1.0e19"), S("k: 10000000000000000000\n")},
    {S("1.0e20"), S("k: 1e+20\n")},
    {S("1.0e21"), S("k: 1e+21\n")},
    {S("9.223372036854775807e18"), S("k: 9223372036854776000\n")},
    {S("-9.223372036854775808e18"), S("k: -9.223372036854776e+18\n")},
    {S("1.8446744073709552e19"), S("k: 1.8446744073709552e+19\n")},
    {S("5e-324"), S("k: 5e-324\n")},
    {S("0.000001"), S("k: 1e-06\n")},
    {S("1e6"), S("k: 1000000\n")},
    {S("999999.5"), S("k: 999999.5\n")},
    {S("12345678"), S("k: 12345678\n")},
    {S("-42"), S("k: -42\n")},
    {S("9223372036854775807"), S("k: 9223372036854775807\n")},
    {S("-9223372036854775808"), S("k: -9223372036854775808\n")},
    {S("true"), S("k: true\n")},
    {S("false"), S("k: false\n")},
    {S("null"), S("k: null\n")},
    {S("{}"), S("k: {}\n")},
    {S("[]"), S("k: []\n")},
    {S("[null]"), S("k:\n- null\n")},
    {S("[[]]"), S("k:\n- []\n")},
    {S("[{}]"), S("k:\n- {}\n")},
    {S("{\"b\":1,\"a\":2}"), S("k:\n  a: 2\n  b: 1\n")},
    {S("[\"a\",[\"b\",\"c\"],{\"d\":[1,2],\"e\":{}}]"),
     S("k:\n- a\n- - b\n  - c\n- d:\n  - 1\n  - 2\n  e: {}\n")},
    {S("[[\"x\",\"y\"],[]]"), S("k:\n- - x\n  - \"y\"\n- []\n")},
    {S("{\"list\":[{\"args\":[\"a\"],\"name\":\"c\"}]}"),
     S("k:\n  list:\n  - args:\n    - a\n    name: c\n")},
    {S("[{\"a\":{\"b\":[1]}}]"), S("k:\n- a:\n    b:\n    - 1\n")},
    {S("{\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}"),
     S("k:\n  "
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1\n")},
    {S("{\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}"),
     S("k:\n  ? "
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  : 1\n")},
    {S("{\"a\\nb\":1}"), S("k:\n  ? |-\n    a\n    b\n  : 1\n")},
    {S("{\"a\\nb\":[1,2]}"), S("k:\n  ? |-\n    a\n    b\n  : - 1\n    - 2\n")},
    {S("{\"a\\nb\":{\"c\":1}}"), S("k:\n  ? |-\n    a\n    b\n  : c: 1\n")},
    {S("{\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\":{\"c\":1,\"d\":[1]}}"),
     S("k:\n  ? "
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n  : c: 1\n    d:\n    - 1\n")},
    {S("{\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\":[1,2]}"),
     S("k:\n  ? "
       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n  : - 1\n    - 2\n")},
    {S("{\"word word word word word word word word word word word word word word word word word "
       "word word word word word word word word word word word word word \":\"v\"}"),
     S("k:\n  ? 'word word word word word word word word word word word word word word word word\n "
       "   word word word word word word word word word word word word word word '\n  : v\n")},
    {S("{\"\":1}"), S("k:\n  \"\": 1\n")},
    {S("{\"a: b\":1,\"#\":2,\"true\":3,\"1\":4,\"-\":5}"),
     S("k:\n  '#': 2\n  '-': 5\n  \"1\": 4\n  'a: b': 1\n  \"true\": 3\n")},
    {S("{\"t\\tk\":1}"), S("k:\n  \"t\\tk\": 1\n")},
    {S("[\"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq "
       "rrrr ssss tttt uuuu vvvv\",[\"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll "
       "mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv\"]]"),
     S("k:\n- aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  "
       "qqqq rrrr ssss tttt uuuu vvvv\n- - aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk "
       "llll mmmm nnnn oooo pppp\n    qqqq rrrr ssss tttt uuuu vvvv\n")},
    {S("{\"deep\":{\"deeper\":{\"deepest\":\"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj "
       "kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv\"}}}"),
     S("k:\n  deep:\n    deeper:\n      deepest: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj "
       "kkkk llll mmmm nnnn\n        oooo pppp qqqq rrrr ssss tttt uuuu vvvv\n")},
    {S("[\"line1\\nline2\\n\"]"), S("k:\n- |\n  line1\n  line2\n")},
    {S("{\"n\":{\"x\":\"a\\nb\"}}"), S("k:\n  \"n\":\n    x: |-\n      a\n      b\n")},
    {S("[[\"a\\n\"]]"), S("k:\n- - |\n    a\n")},
};

/* Pairs of keys in the order kubectl prints a two-key mapping, either
 * insertion order (so yaml.v2's comparison itself, not a sort accident). */
static const char *const key_pairs[][2] = {
    {"_x", "~t"},
    {"~t", "1"},
    {"1", "2"},
    {"2", "09"},
    {"09", "10"},
    {"10", "A"},
    {"A", "Z"},
    {"Z", "a b"},
    {"a b", "a-b"},
    {"a-b", "a.b"},
    {"a.b", "a: b"},
    {"a: b", "a:b"},
    {"a:b", "a_b"},
    {"a_b", "a9"},
    {"a9", "a10"},
    {"a10", "b"},
    {"b", "zz"},
    {"zz", "é"},
    {"a10", "a1b"},
    {"x10", "x1a"},
    {"10", "1a"},
    {"x1_", "x1a"},
    {"a1b", "a01b"},
    {"a01b", "a9"},
    {"k8s", "k08s"},
    {"x2y", "x02y"},
    {"a0", "a00"},
    {"x01", "x001"},
    {"x1", "x01"},
    {"a1-", "a1b"},
    {"a", "ab"},
    {"", "a"},
    {"0", "00"},
    {"\xe2\x82\xac", "a"},
    {"\xe2\x82\xac", "1"},
    {"_", "\xe2\x82\xac"},
    {"5", "\xd9\xa3"},
    {"_", "ж"},
    {"z", "ж"},
    {"a", "é"},
    {"é", "日"},
    {"e1", "é1"},
    {"x9223372036854775807", "x9223372036854775808"},
    {"y1", "y99999999999999999999"},
    {"00a", "0a"},
    {"1.5", "1.10"},
};

static char *emit_k(const char *what, json_t *value)
{
    json_t *doc = json_pack("{s:o}", "k", value);
    char *out = NULL;
    size_t len = 0;

    GF_ASSERT(doc != NULL);
    if (gf_yaml_emit(&out, &len, doc) < 0)
        gf_test_fail(__FILE__, __LINE__, "%s: %s", what, gf_error_last());
    json_decref(doc);
    GF_ASSERT_INT(len, strlen(out));
    return out;
}

static void test_yaml_emit__strings_as_kubectl(void)
{
    for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]); i++) {
        const struct string_case *c = &string_cases[i];
        char *out = emit_k(c->value, json_stringn(c->value, c->value_len));
        if (strcmp(out, c->yaml) != 0)
            gf_test_fail(__FILE__, __LINE__, "string case %zu:\n--- got\n%s--- kubectl\n%s", i, out,
                         c->yaml);
        free(out);
    }
}

static void test_yaml_emit__values_as_kubectl(void)
{
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
        const struct json_case *c = &json_cases[i];
        json_error_t je;
        json_t *v = json_loadb(c->json, c->json_len, JSON_DECODE_ANY, &je);
        char *out;
        if (v == NULL)
            gf_test_fail(__FILE__, __LINE__, "case %zu: bad JSON %s: %s", i, c->json, je.text);
        out = emit_k(c->json, v);
        if (strcmp(out, c->yaml) != 0)
            gf_test_fail(__FILE__, __LINE__, "case %zu %s:\n--- got\n%s--- kubectl\n%s", i, c->json,
                         out, c->yaml);
        free(out);
    }
}

static void test_yaml_emit__key_compare_pairs(void)
{
    for (size_t i = 0; i < sizeof(key_pairs) / sizeof(key_pairs[0]); i++) {
        const char *a = key_pairs[i][0], *b = key_pairs[i][1];
        if (gf_yaml_key_compare(a, b) >= 0 || gf_yaml_key_compare(b, a) <= 0)
            gf_test_fail(__FILE__, __LINE__, "kubectl puts \"%s\" before \"%s\"", a, b);
        GF_ASSERT_INT(gf_yaml_key_compare(a, a), 0);
    }
}

/* The order the notes observed, as one mapping built in reverse order. */
static void test_yaml_emit__key_order_observed(void)
{
    static const char *const keys[] = {"_x", "~t",  "1",   "2",   "09",   "10",  "A",
                                       "Z",  "a b", "a-b", "a.b", "a: b", "a:b", "a_b",
                                       "a9", "a10", "b",   "zz",  "é"};
    size_t n = sizeof(keys) / sizeof(keys[0]);
    json_t *doc = json_object();
    char *out;

    for (size_t i = n; i-- > 0;)
        json_object_set_new(doc, keys[i], json_integer((json_int_t)i));
    GF_ASSERT(gf_yaml_emit(&out, NULL, doc) == 0);
    GF_ASSERT_STR(out, "_x: 0\n~t: 1\n\"1\": 2\n\"2\": 3\n\"09\": 4\n\"10\": 5\nA: 6\nZ: 7\n"
                       "a b: 8\na-b: 9\na.b: 10\n'a: b': 11\na:b: 12\na_b: 13\na9: 14\na10: 15\n"
                       "b: 16\nzz: 17\né: 18\n");
    free(out);
    json_decref(doc);
}

/* The notes' example: a break once the written line is past column 80,
 * continuation indented two past the key. */
static void test_yaml_emit__fold_line_lengths(void)
{
    const char *text = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn "
                       "oooo pppp qqqq rrrr ssss tttt uuuu vvvv";
    json_t *doc = json_pack("{s:{s:s}}", "spec", "long", text);
    char *out, *nl1, *nl2;

    GF_ASSERT(gf_yaml_emit(&out, NULL, doc) == 0);
    nl1 = strchr(out, '\n');
    nl1 = strchr(nl1 + 1, '\n');
    nl2 = strchr(nl1 + 1, '\n');
    GF_ASSERT(nl2 != NULL && nl2[1] == '\0');
    GF_ASSERT_INT(nl1 - strchr(out, '\n') - 1, 82);
    GF_ASSERT_INT(nl2 - nl1 - 1, 38);
    GF_ASSERT_STR(out, "spec:\n  long: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk "
                       "llll mmmm nnnn oooo\n    pppp qqqq rrrr ssss tttt uuuu vvvv\n");
    free(out);
    json_decref(doc);
}

/* The exact edge: a space is a break only when the line already holds more
 * than 80 characters ("k: " + 77 x = column 80 keeps going, 78 x breaks). */
static void test_yaml_emit__fold_boundary(void)
{
    char text[96], want[128];

    for (int n = 76; n <= 79; n++) {
        char *out;
        memset(text, 'x', (size_t)n);
        snprintf(text + n, sizeof(text) - (size_t)n, " y");
        out = emit_k(text, json_string(text));
        snprintf(want, sizeof(want), "k: %.*s%sy\n", n, text, 3 + n > 80 ? "\n  " : " ");
        GF_ASSERT_STR(out, want);
        free(out);
    }
}

static void test_yaml_emit__compact_sequences(void)
{
    json_t *doc = json_loads("{\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"a\"]}],"
                             "\"list\":[[\"x\",\"y\"]]}}",
                             0, NULL);
    char *out;

    GF_ASSERT(doc != NULL && gf_yaml_emit(&out, NULL, doc) == 0);
    GF_ASSERT_STR(out, "spec:\n  containers:\n  - args:\n    - a\n    name: c\n  list:\n"
                       "  - - x\n    - \"y\"\n");
    free(out);
    json_decref(doc);
}

static void test_yaml_emit__stream_separators(void)
{
    json_t *docs = json_loads("[{\"a\":1},[1],\"s\",{}]", 0, NULL);
    char *out;
    size_t len;

    GF_ASSERT(gf_yaml_emit_stream(&out, &len, docs) == 0);
    GF_ASSERT_STR(out, "a: 1\n---\n- 1\n---\ns\n---\n{}\n");
    GF_ASSERT_INT(len, strlen(out));
    free(out);
    json_decref(docs);

    docs = json_array();
    GF_ASSERT(gf_yaml_emit_stream(&out, &len, docs) == 0);
    GF_ASSERT_STR(out, "");
    GF_ASSERT_INT(len, 0);
    free(out);
    json_decref(docs);
    docs = json_object();
    GF_ASSERT_INT(gf_yaml_emit_stream(&out, &len, docs), GF_EINVAL);
    json_decref(docs);
}

static void test_yaml_emit__refuses_what_kubectl_cannot_print(void)
{
    json_t *doc = json_pack("{s:o}", "k", json_stringn_nocheck("\xff\xfe", 2));
    char *out = NULL;

    GF_ASSERT_INT(gf_yaml_emit(&out, NULL, doc), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "UTF-8");
    GF_ASSERT(out == NULL);
    json_decref(doc);
    GF_ASSERT_INT(gf_yaml_emit(&out, NULL, NULL), GF_EINVAL);
}

/* Parse a file kubectl printed, write it again: the same bytes or a message. */
static int round_trip(const char *path, char *why, size_t why_len)
{
    json_t *docs = NULL;
    char *out = NULL, *orig = NULL;
    size_t len = 0, orig_len = 0;
    int same = 0;

    if (gf_yaml_parse_file(&docs, path, NULL, 0) < 0) {
        snprintf(why, why_len, "parse: %s", gf_error_last());
    } else if (gf_yaml_emit_stream(&out, &len, docs) < 0) {
        snprintf(why, why_len, "emit: %s", gf_error_last());
    } else if ((orig = gf_test_read_file(path, &orig_len)) == NULL) {
        snprintf(why, why_len, "cannot read it back");
    } else if (orig_len != len || memcmp(orig, out, len) != 0) {
        size_t at = 0;
        while (at < len && at < orig_len && orig[at] == out[at])
            at++;
        snprintf(why, why_len, "differs at byte %zu: \"%.40s\" became \"%.40s\"", at, orig + at,
                 out + at);
    } else {
        same = 1;
    }
    free(orig);
    free(out);
    json_decref(docs);
    return same;
}

/* Round-trip every *.yaml directly in `dir` (or every DIR/<case>/NAME when
 * `name` is set); returns how many files were checked. */
static int round_trip_dir(const char *dir, const char *name, int *failed)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char path[4096], why[512];
    int checked = 0;

    GF_ASSERT(d != NULL);
    while ((ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (ent->d_name[0] == '.')
            continue;
        if (name != NULL)
            snprintf(path, sizeof(path), "%s/%s/%s", dir, ent->d_name, name);
        else if (n > 5 && strcmp(ent->d_name + n - 5, ".yaml") == 0)
            snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        else
            continue;
        if (name != NULL && access(path, R_OK) != 0)
            continue;
        checked++;
        if (!round_trip(path, why, sizeof(why))) {
            fprintf(stderr, "    %s: %s\n", path, why);
            (*failed)++;
        }
    }
    closedir(d);
    return checked;
}

static void test_yaml_emit__round_trip_fixtures(void)
{
    char dir[1024];
    int failed = 0, checked;

    snprintf(dir, sizeof(dir), "%s/tests/fixtures/yaml", gf_test_source_dir());
    checked = round_trip_dir(dir, NULL, &failed);
    fprintf(stderr, "    fixtures: %d of %d files round-trip byte for byte\n", checked - failed,
            checked);
    GF_ASSERT(checked >= 3);
    GF_ASSERT_INT(failed, 0);
}

static void test_yaml_emit__round_trip_kubectl_corpus(void)
{
    const char *shared = gf_test_shared_dir();
    char dir[1024];
    int failed = 0, checked;

    if (shared == NULL) {
        fprintf(stderr, "    SKIP: no shared/ folder, so no kubectl corpus to round-trip\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/corpus/kustomize", shared);
    checked = round_trip_dir(dir, "reference.yaml", &failed);
    checked += round_trip_dir(dir, "reference_test_options.yaml", &failed);
    fprintf(stderr, "    corpus: %d of %d kubectl outputs round-trip byte for byte\n",
            checked - failed, checked);
    GF_ASSERT(checked > 0);
    GF_ASSERT_INT(failed, 0);
}

GF_TESTS(GF_TEST(test_yaml_emit__strings_as_kubectl), GF_TEST(test_yaml_emit__values_as_kubectl),
         GF_TEST(test_yaml_emit__key_compare_pairs), GF_TEST(test_yaml_emit__key_order_observed),
         GF_TEST(test_yaml_emit__fold_line_lengths), GF_TEST(test_yaml_emit__fold_boundary),
         GF_TEST(test_yaml_emit__compact_sequences), GF_TEST(test_yaml_emit__stream_separators),
         GF_TEST(test_yaml_emit__refuses_what_kubectl_cannot_print),
         GF_TEST(test_yaml_emit__round_trip_fixtures),
         GF_TEST(test_yaml_emit__round_trip_kubectl_corpus));
