-- premake5.lua: mockapi's build. Runs under premake5 and under Debian's
-- premake4 (`premake4 --file=premake5.lua gmake`), so it keeps to the subset
-- both understand; `when()` bridges premake5's filter and premake4's
-- configuration. ci/build.sh is the usual way in.
--
-- Configurations: release (-O2), debug (ASan+UBSan), tsan (ThreadSanitizer).
-- civetweb is compiled from Debian's source package, fetched by ci/setup.sh
-- into build/third_party/civetweb (never committed), for its request parser
-- only: TLS off (NO_SSL), IPv6 on.

local top = os.getcwd()
local civet = top .. "/build/third_party/civetweb"

local function when(cfgname)
  if filter then filter("configurations:" .. cfgname) else configuration(cfgname) end
end
local function always()
  if filter then filter({}) else configuration({}) end
end
local function debug_symbols()
  if symbols then symbols("On") else flags({"Symbols"}) end
end

-- pkg-config at generate time; civetweb and mbedTLS have no .pc on Debian.
local function pkg(what, names)
  local f = io.popen("pkg-config " .. what .. " " .. names .. " 2>/dev/null")
  local out = f:read("*a") or ""
  f:close()
  local r = {}
  for w in out:gmatch("%S+") do table.insert(r, w) end
  return r
end
local function pkg_libs(names)
  local r = {}
  for _, w in ipairs(pkg("--libs-only-l", names)) do table.insert(r, (w:gsub("^%-l", ""))) end
  return r
end

local deps = "libsodium jansson zlib"
local sys_links = pkg_libs(deps)
for _, l in ipairs({"mbedtls", "mbedx509", "mbedcrypto", "pthread", "m"}) do table.insert(sys_links, l) end

-- The layers of src/, lowest first; each may include only from those before
-- it (ci/check_layers.sh enforces it). Every folder is on the include path.
local src_dirs = {"include", "src/common", "src/core", "src/transport", "src/transport/civet", "src/api"}

local strict = {"-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes",
                "-Wmissing-prototypes", "-Wformat=2", "-Wvla", "-Wpointer-arith", "-D_GNU_SOURCE"}

local function common_configs()
  when("release")
    buildoptions({"-O2", "-g"})
    debug_symbols()
  when("debug")
    buildoptions({"-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                  "-fno-sanitize-recover=undefined"})
    linkoptions({"-fsanitize=address,undefined"})
    debug_symbols()
  when("tsan")
    buildoptions({"-O1", "-g", "-fsanitize=thread"})
    linkoptions({"-fsanitize=thread"})
    debug_symbols()
  always()
end

solution("mockapi")
  configurations({"release", "debug", "tsan"})
  location("build")
  language("C")
  when("release")
    targetdir("build/release")
    objdir("build/obj/release")
  when("debug")
    targetdir("build/debug")
    objdir("build/obj/debug")
  when("tsan")
    targetdir("build/tsan")
    objdir("build/obj/tsan")
  always()

-- civetweb, compiled with our glue in one translation unit: the project's
-- warnings apply to the glue; civetweb's own code is fenced off with
-- diagnostic pragmas inside civetweb_build.c.
project("civetweb")
  kind("StaticLib")
  -- civetweb.c is compiled through src/transport/civet/civetweb_build.c (see there)
  files({"src/transport/civet/civetweb_build.c"})
  includedirs({civet .. "/include", civet .. "/src", "src/transport/civet", "src/common"})
  defines({"NO_SSL", "USE_IPV6", "NO_CGI", "NO_FILES", "NO_CACHING",
           "NO_NONCE_CHECK"})
  buildoptions(strict)
  common_configs()

-- libmockapi: the server core and its modules.
project("libmockapi")
  kind("StaticLib")
  targetname("mockapi")
  files({"src/common/*.c", "src/core/*.c", "src/transport/*.c", "src/api/*.c", "src/*/*.h",
         "include/*.h"})
  includedirs(src_dirs)
  includedirs({civet .. "/include"})
  buildoptions(strict)
  buildoptions(pkg("--cflags", deps))
  -- fixtures/*.json are embedded with the assembler's .incbin (fixtures.c).
  buildoptions({"-Wa,-I" .. top .. "/fixtures"})
  -- the live page, src/page/index.html, the same way (page.c)
  buildoptions({"-Wa,-I" .. top .. "/src/page"})
  common_configs()

-- The binary links its libraries statically (Debian ships the .a files):
-- resolving five shared objects costs ~0.5 ms of a ~3 ms start-up.
local static_links = {}
for _, l in ipairs({"sodium", "jansson", "z", "mbedtls", "mbedx509", "mbedcrypto"}) do
  table.insert(static_links, ":lib" .. l .. ".a")
end
table.insert(static_links, "pthread")
table.insert(static_links, "m")

project("mockapi")
  kind("ConsoleApp")
  files({"src/cli/*.c"})
  includedirs({"include", "src/common"}) -- the public header; "did you mean" (suggest.h)
  buildoptions(strict)
  links({"libmockapi", "civetweb"})
  links(static_links)
  common_configs()

project("unit_tests")
  kind("ConsoleApp")
  -- mockassert's pure cores are unit-tested here too (spec.c + yaml.c: its lint)
  files({"tests/unit/*.c", "assert/match.c", "assert/jpath.c", "assert/requests.c", "assert/util.c",
         "assert/spec.c", "assert/yaml.c", "assert/subject.c", "assert/group.c", "assert/number.c",
         "assert/project.c", "assert/pages.c", "assert/session_id.c"})
  includedirs(src_dirs)
  includedirs({"assert"})
  buildoptions(strict)
  buildoptions(pkg("--cflags", "cmocka jansson libfyaml libcurl"))
  links({"libmockapi", "civetweb"})
  links(sys_links)
  links(pkg_libs("cmocka libfyaml libcurl")) -- libcurl: subject.c decodes queries with it
  common_configs()

project("integration_tests")
  kind("ConsoleApp")
  files({"tests/integration/*.c", "tests/integration/*.h"})
  includedirs(src_dirs)
  includedirs({"tests/integration"})
  buildoptions(strict)
  buildoptions(pkg("--cflags", "libcurl cmocka"))
  defines({"MOCKAPI_TOP=\\\"" .. top .. "\\\""})
  links({"libmockapi", "civetweb"})
  links(sys_links)
  links(pkg_libs("libcurl cmocka"))
  common_configs()

-- mockassert: the pipeline CLI (libcurl client, libfyaml, jansson; libsodium for
-- the fingerprints of secret headers, the journal's own sha256).
project("mockassert")
  kind("ConsoleApp")
  files({"assert/*.c", "assert/*.h", "src/common/glob.c"}) -- the server's path glob
  -- the server's validating JSON scanner (number.c's span walker; project.c walks journal bodies with it)
  files({"src/common/gojson.c", "src/common/buf.c"})
  -- the server's fault grammar: lint puts a fault spec operand in the canonical form the journal shows
  files({"src/core/fault.c", "src/common/suggest.c"})
  -- include/ and src/common/ for the server's name lists (mockapi.h, names.h: macros only)
  includedirs({"assert", "include", "src/common", "src/core"})
  buildoptions(strict)
  buildoptions(pkg("--cflags", "libcurl libfyaml jansson libsodium"))
  links(pkg_libs("libcurl libfyaml jansson libsodium"))
  links({"m"})
  common_configs()

-- ma_mutants: the expectation-file walker behind tests/assert/mutate.sh (the
-- seeded mutation run of the corpus); libfyaml only.
project("ma_mutants")
  kind("ConsoleApp")
  files({"tests/assert/mutants.c"})
  buildoptions(strict)
  buildoptions(pkg("--cflags", "libfyaml"))
  links(pkg_libs("libfyaml"))
  common_configs()
