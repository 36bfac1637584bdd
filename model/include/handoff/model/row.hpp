// Rows and tables at compile time. A row is a constexpr value whose type carries its name, so
// that the table's checks can name the offending row in the compiler's error:
//   duplicate row names          -> table_error::duplicate_row_name<"...">
//   a row without a citation     -> table_error::row_without_citation<"...">
//   an effect writing a variable twice -> table_error::effect_writes_variable_twice<"...",
//   Var::...> replacing/removing a missing row   -> table_error::no_such_row<"...">
// A version's table is the previous version's table with rows replaced, added or removed
// (replace_row, remove_row, add_rows), so that the difference between versions is rows.
#pragma once

#include "handoff/model/expr.hpp"
#include "handoff/model/fixed_string.hpp"
#include "handoff/model/table.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/basic_tuple.hpp>
#include <boost/hana/concat.hpp>
#include <boost/hana/filter.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/unpack.hpp>

#include <array>
#include <string_view>

namespace handoff::model {

namespace table_error {
template <fixed_string Row>
struct duplicate_row_name;
template <fixed_string Row>
struct row_without_citation;
template <fixed_string Row>
struct row_without_sentence;
template <fixed_string Row, Var Written>
struct effect_writes_variable_twice;
template <fixed_string Row>
struct no_such_row;
} // namespace table_error

template <Param... Ps>
struct with_params {};

template <fixed_string Name, class Guard, class Eff, Param... Ps>
struct Row {
    static constexpr auto name_fs = Name;
    static constexpr std::string_view name = Name.view();
    static constexpr std::array<Param, sizeof...(Ps)> params{Ps...};
    Actor actor;
    std::string_view sentence;
    std::string_view qemu;
    Guard guard;
    Eff effect;
};

// row<"name">(actor, with_params<...>{}, "sentence", "QEMU function (file, version)", guard,
// effect(...))
template <fixed_string Name, Param... Ps, class Guard, class Eff>
constexpr auto row(Actor actor, with_params<Ps...>, std::string_view sentence,
                   std::string_view qemu, Guard guard, Eff eff) {
    static_assert(std::same_as<typename Guard::sort, bool>, "a row's guard must be boolean");
    return Row<Name, Guard, Eff, Ps...>{actor, sentence, qemu, guard, eff};
}

template <class... Rows>
constexpr auto rows(Rows... r) {
    return boost::hana::make_basic_tuple(r...);
}

template <class R>
using row_t = std::remove_cvref_t<R>;

template <fixed_string Name, class Table>
constexpr std::size_t count_rows_named(const Table& table) {
    std::size_t count = 0;
    boost::hana::for_each(table, [&](const auto& r) {
        if (row_t<decltype(r)>::name == Name.view()) {
            ++count;
        }
    });
    return count;
}

template <fixed_string Name, class Table>
constexpr void require_row(const Table&) {
    constexpr bool found = []<class... R>(std::type_identity<boost::hana::basic_tuple<R...>>) {
        return ((R::name == Name.view()) || ...);
    }(std::type_identity<Table>{});
    if constexpr (!found) {
        table_error::no_such_row<Name>{};
    }
}

// The same table with the row named Name replaced by `replacement` (which may be renamed).
template <fixed_string Name, class Table, class NewRow>
constexpr auto replace_row(const Table& table, const NewRow& replacement) {
    require_row<Name>(table);
    return boost::hana::transform(table, [&](const auto& r) {
        if constexpr (row_t<decltype(r)>::name == Name.view()) {
            return replacement;
        } else {
            return r;
        }
    });
}

// Several replacements at once, in the order given, so that a version reads like a patch:
//   replace_rows(v8_0_0_rows, replacing(migration_completion_save),
//                replacing<"migration_completion_fail_invalidate">(migration_completion_checks_fail))
// replacing(row) replaces the row of the same name; replacing<"old">(row) renames it.
template <fixed_string Name, class NewRow>
struct Replacement {
    NewRow row;
};

template <fixed_string Name, class NewRow>
constexpr auto replacing(const NewRow& row) {
    return Replacement<Name, NewRow>{row};
}

template <class NewRow>
constexpr auto replacing(const NewRow& row) {
    return Replacement<row_t<NewRow>::name_fs, NewRow>{row};
}

template <class Table>
constexpr auto replace_rows(const Table& table) {
    return table;
}

template <class Table, fixed_string Name, class NewRow, class... Rest>
constexpr auto replace_rows(const Table& table, const Replacement<Name, NewRow>& first,
                            const Rest&... rest) {
    return replace_rows(replace_row<Name>(table, first.row), rest...);
}

template <fixed_string Name, class Table>
constexpr auto remove_row(const Table& table) {
    require_row<Name>(table);
    return boost::hana::filter(table, [](const auto& r) {
        return boost::hana::bool_c<row_t<decltype(r)>::name != Name.view()>;
    });
}

template <class Table, class... NewRows>
constexpr auto add_rows(const Table& table, const NewRows&... added) {
    return boost::hana::concat(table, boost::hana::make_basic_tuple(added...));
}

// ---- validation --------------------------------------------------------------------------------

template <class Table>
constexpr int first_duplicate_name() {
    return []<class... R>(std::type_identity<boost::hana::basic_tuple<R...>>) {
        constexpr std::array<std::string_view, sizeof...(R)> names{R::name...};
        for (std::size_t i = 0; i < names.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (names[i] == names[j]) {
                    return static_cast<int>(i);
                }
            }
        }
        return -1;
    }(std::type_identity<Table>{});
}

template <class R>
constexpr int double_write_of() {
    return dsl::first_double_write(std::type_identity<decltype(std::declval<R>().effect)>{});
}

// Checks a table; every failure is a compile error whose type names the row.
template <const auto& Table>
constexpr bool validate_table() {
    using T = std::remove_cvref_t<decltype(Table)>;
    constexpr int dup = first_duplicate_name<T>();
    if constexpr (dup >= 0) {
        table_error::duplicate_row_name<row_t<decltype(boost::hana::at_c<dup>(Table))>::name_fs>{};
    }
    constexpr int uncited = [] {
        int i = 0, found = -1;
        boost::hana::for_each(Table, [&](const auto& r) {
            if (found < 0 && r.qemu.empty()) {
                found = i;
            }
            ++i;
        });
        return found;
    }();
    if constexpr (uncited >= 0) {
        table_error::row_without_citation<
            row_t<decltype(boost::hana::at_c<uncited>(Table))>::name_fs>{};
    }
    constexpr int unexplained = [] {
        int i = 0, found = -1;
        boost::hana::for_each(Table, [&](const auto& r) {
            if (found < 0 && r.sentence.empty()) {
                found = i;
            }
            ++i;
        });
        return found;
    }();
    if constexpr (unexplained >= 0) {
        table_error::row_without_sentence<
            row_t<decltype(boost::hana::at_c<unexplained>(Table))>::name_fs>{};
    }
    boost::hana::for_each(Table, []<class R>(const R&) {
        constexpr int var = double_write_of<R>();
        if constexpr (var < kVarCount) {
            table_error::effect_writes_variable_twice<R::name_fs, static_cast<Var>(var)>{};
        }
    });
    return true;
}

// ---- conversion to runtime data ----------------------------------------------------------------

template <class Table>
TableData to_table_data(const VersionInfo& info, const Table& table,
                        std::span<const RunstateTransition> transitions) {
    TableData out;
    out.version = info.version;
    out.based_on = info.based_on;
    out.summary = info.summary;
    out.source = info.source;
    out.rereads.assign(info.rereads.begin(), info.rereads.end());
    for (const auto& t : transitions) {
        out.runstate[static_cast<int>(t.from)][static_cast<int>(t.to)] = true;
    }
    dsl::AstBuilder b{out.ast};
    boost::hana::for_each(table, [&]<class R>(const R& r) {
        RowData data;
        data.name = R::name;
        data.sentence = r.sentence;
        data.qemu = r.qemu;
        data.actor = r.actor;
        data.params.assign(R::params.begin(), R::params.end());
        data.guard = r.guard.emit(b);
        dsl::emit_effect(r.effect, b, data.effect);
        out.rows.push_back(std::move(data));
    });
    record_what_rows_use(out);
    return out;
}

} // namespace handoff::model
