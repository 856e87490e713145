#!/usr/bin/env python3
"""gen_yaml_emit_cases.py -- ask kubectl how it prints each case, refresh the emitter's test tables.

Needs kubectl (v1.32 was used). For every value V below it builds resources holding `k: V`, runs
`kubectl kustomize`, and writes what kubectl printed for `k` into the tables of
tests/unit/yaml_emit_test.c; key pairs are checked in both insertion orders. The two streams are
also kept as round-trip fixtures in tests/fixtures/yaml/. Run it from anywhere; review the diff.
"""
import json, os, subprocess, sys, tempfile, unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST = os.path.join(ROOT, "tests/unit/yaml_emit_test.c")
FIXTURES = os.path.join(ROOT, "tests/fixtures/yaml")

# Strings; an entry "#..." starts a commented group in the table.
A = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv"
STR = [
 "#values YAML 1.1 reads as bool, null, int, float, base-60 or timestamp: double quotes",
 "true","True","TRUE","false","y","Y","yes","Yes","YES","n","N","no","NO","on","On","ON","off","Off","OFF",
 "","~","null","Null","NULL","1","-1","+1","017","0x1F","0o17","0b101","-0b101","1_000","-0","+0x10","019","09",
 "1.5",".5","1.","1e3","1.20",".inf",".Inf","-.inf","+.INF",".nan",".NaN","1:20","12:30:45","-1:20","190:20:30.15",
 "2024-01-01","2024-1-1","2001-12-14t21:59:43.10-05:00","2001-12-14 21:59:43.10","2024-01-01T10:00:00Z",
 "2024-01-01T10:00:00.5+01:00",".5_5","1__0","-.5e3",
 "#look-alikes that stay strings under YAML 1.1, and indicators plain text may hold",
 "1e","0.1.2","2024-02-30","2024-01-01T10:00:00","2024-13-01","1:60","0x","0xFFFFFFFFFFFFFFFFFF","1e400",".e1",
 "_1","+inf","nan","Infinity","nULL","yes!","=","<<",":foo","-a","?a","a,b","a{b","a[b]","a*b","a&b","a!b","a|b","a>b",
 "a%b","a@b","a#b","a\\b",'say "hi"',"it's","http://x.y/z?a=b#c","héllo","日本語","a:b","a\u00a0b","a\u2029",
 "#plain refused (indicators, edge spaces, document markers): single quotes",
 "&foo","*foo","!foo","[a]","{a}","%a","@a","|a",">a","#a","`a",",a","- a","-","?",":","!","a: b","a:","end:","a #b",
 " a","a ","x y "," ","  ","---","...","---x","...x",'"a',"'a","it's: x","? a",": a","a\u2028b",
 "#characters outside v2's printable set force double quotes and escapes",
 "a\tb","\x1b[0m","a\x00b","a\rb","\x01","\ufeffa","\ufeff","x\ufeffy","\U0001F600","a\U0001F600b",
 "\x7fx"[1:]+"\x08", "é\ufeff"[0], 
 "#a newline asks for a literal block; the header carries indent and chomping hints",
 "line1\nline2\n","line1\nline2","line1\nline2\n\n","  indented\nline2\n","\nabc\n","\n","\n\n","a\n\n\nb\n",
 "x\n  y\n","a\u2028b\nc\n","é\n日本\n",
 "#literal blocks refused (space before a break, trailing space, specials): double quotes",
 "line1 \nline2\n","x\n ","a\tb\nc\n","a\r\nb\n","\U0001F600\nx\n"," \n",
 "#folding at best_width 80: a space breaks once the line is past column 80",
 A, A[:74], A[:79], "x" * 100 + " " + "y" * 10, A.replace(" ", "  "), A + " ", " " + A,
 "tab\there " + A[10:], "'" + A + "'", A.replace("cccc", "cc'c") + ": z", A.replace("eeee", "e\"e"),
 A + "\n" + A + "\n", "\u00e9" * 78 + " " + A,
 "x" * 77 + " y", "x" * 78 + " y", "x" * 78 + "  y", "'" + "x" * 76 + " y", "'" + "x" * 77 + " y",
 "\t" + "x" * 75 + " y", "\t" + "x" * 76 + " y", "\t" + "x" * 76 + "  y", "\u00e9" * 78 + " y",
]
JSONV = [
 "1.5","0.1","0.0001","123456.5","1e-05","-1e-07","1234567.5","1.7976931348623157e+308","1.0","3.0e2","1e3",
 "100000000.0","-0.0","1.0e19","1.0e20","1.0e21","9.223372036854775807e18","-9.223372036854775808e18",
 "1.8446744073709552e19","5e-324","0.000001","1e6","999999.5","12345678","-42","9223372036854775807",
 "-9223372036854775808","true","false","null","{}","[]","[null]","[[]]","[{}]",
 '{"b":1,"a":2}','["a",["b","c"],{"d":[1,2],"e":{}}]','[["x","y"],[]]','{"list":[{"args":["a"],"name":"c"}]}',
 '[{"a":{"b":[1]}}]','{"' + 'x' * 128 + '":1}','{"' + 'x' * 129 + '":1}','{"a\\nb":1}','{"a\\nb":[1,2]}',
 '{"a\\nb":{"c":1}}','{"' + 'y' * 129 + '":{"c":1,"d":[1]}}','{"' + 'z' * 129 + '":[1,2]}',
 '{"' + ('word ' * 30) + '":"v"}','{"":1}','{"a: b":1,"#":2,"true":3,"1":4,"-":5}','{"t\\tk":1}',
 '[' + json.dumps(A) + ',[' + json.dumps(A) + ']]','{"deep":{"deeper":{"deepest":' + json.dumps(A) + '}}}',
 '[' + json.dumps("line1\nline2\n") + ']','{"n":{"x":' + json.dumps("a\nb") + '}}',
 '[[' + json.dumps("a\n") + ']]',
]
obs = ["_x","~t","1","2","09","10","A","Z","a b","a-b","a.b","a: b","a:b","a_b","a9","a10","b","zz","é"]
extra = [("a10","a1b"),("x10","x1a"),("10","1a"),("x1_","x1a"),("a1b","a01b"),("a01b","a9"),("k8s","k08s"),
 ("x2y","x02y"),("a0","a00"),("x01","x001"),("x1","x01"),("a1-","a1b"),("a","ab"),("","a"),("0","00"),
 ("€","a"),("€","1"),("_","€"),("5","\u0663"),("_","ж"),("z","ж"),("a","é"),("é","日"),("e1","é1"),
 ("x9223372036854775807","x9223372036854775808"),("y99999999999999999999","y1"),("0a","00a"),("1.5","1.10")]
PAIRS = [(obs[i], obs[i + 1]) for i in range(len(obs) - 1)] + extra


def kustomize(docs):
    """kubectl's output for a list of resources, as text."""
    with tempfile.TemporaryDirectory() as d:
        text = "\n---\n".join(json.dumps(x, ensure_ascii=False) for x in docs) + "\n"
        for ch in "\u2028\u2029\u0085\ufeff\u00a0":  # JSON-in-YAML must not hold these raw
            text = text.replace(ch, "\\u%04x" % ord(ch))
        open(os.path.join(d, "r.yaml"), "w").write(text)
        open(os.path.join(d, "kustomization.yaml"), "w").write("resources: [r.yaml]\n")
        return subprocess.run(["kubectl", "kustomize", d], capture_output=True, check=True).stdout.decode()


def print_k(values):
    """(whole stream, [text kubectl printed for k in each resource])."""
    docs = [{"apiVersion": "v1", "kind": "T", "metadata": {"name": "t%04d" % i}, "k": v}
            for i, v in enumerate(values)]
    out = kustomize(docs)
    res = []
    for i, doc in enumerate(out.split("apiVersion: v1\n")[1:]):
        res.append(doc[:doc.index("kind: T\nmetadata:\n  name: t%04d\n" % i)])
    return out, res


def first_of(a, b):
    seen = set()
    for x, y in ((a, b), (b, a)):
        out = kustomize([{"apiVersion": "v1", "kind": "T", "metadata": {"name": "t"}, "k": {x: 1, y: 2}}])
        line = out.split("\nk:\n")[1].split("\n")[0]
        seen.add(x if line.endswith(": 1") else y)
    if len(seen) != 1:
        sys.exit("kubectl orders %r and %r differently run to run" % (a, b))
    return seen.pop()


def cstr(s):
    out, prev_hex = '"', False
    for ch in s:
        if prev_hex and ch in "0123456789abcdefABCDEF":
            out += '" "'
        prev_hex = False
        c = ord(ch)
        if ch == '"': out += '\\"'
        elif ch == "\\": out += "\\\\"
        elif ch == "\n": out += "\\n"
        elif ch == "\t": out += "\\t"
        elif 0x20 <= c < 0x7F: out += ch
        elif 0xC0 <= c < 0x10000 and unicodedata.category(ch).startswith("L"): out += ch
        else:
            out += "".join("\\x%02x" % b for b in ch.encode())
            prev_hex = True
    return out + '"'


def replace_table(text, marker, rows):
    i = text.index(marker) + len(marker)
    j = text.index("\n};", i)
    return text[:i] + "\n" + "".join(rows).rstrip("\n") + text[j:]


def main():
    values = [x for x in STR if not (x.startswith("#") and len(x) > 2)]
    stream, printed = print_k(values)
    open(os.path.join(FIXTURES, "kubectl-strings.yaml"), "w").write(stream)
    by_value = dict(zip(values, printed))
    rows = []
    for v in STR:
        if v.startswith("#") and len(v) > 2:
            rows.append("    /* %s */\n" % v[1:])
        else:
            rows.append("    {S(%s), S(%s)},\n" % (cstr(v), cstr(by_value[v])))
    stream, printed = print_k([json.loads(x) for x in JSONV])
    open(os.path.join(FIXTURES, "kubectl-values.yaml"), "w").write(stream)
    jrows = ["    {S(%s), S(%s)},\n" % (cstr(v), cstr(p)) for v, p in zip(JSONV, printed)]
    prows = []
    for a, b in PAIRS:
        f = first_of(a, b)
        prows.append("    {%s, %s},\n" % ((cstr(a), cstr(b)) if f == a else (cstr(b), cstr(a))))
    text = open(TEST).read()
    text = replace_table(text, "static const struct string_case string_cases[] = {", rows)
    text = replace_table(text, "static const struct json_case json_cases[] = {", jrows)
    text = replace_table(text, "static const char *const key_pairs[][2] = {", prows)
    open(TEST, "w").write(text)
    subprocess.run(["clang-format", "-i", TEST], check=True)


if __name__ == "__main__":
    main()
