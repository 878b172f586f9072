// tasks/PID/layout.svg: one process's address space as a picture. Guest user
// space is huge and sparse, so each VMA gets a band of its own, drawn to
// scale within itself (one page = width / pages), and the gaps between VMAs
// are compressed into a labelled line. Each band has three lanes:
//   guest   the PTEs: not resident, private, page cache, shared, copy-on-write
//   mirror  the pages the host child mirrors (the HOSTMAPPED bit)
//   host    the host child's own VMAs over that range (from its /proc maps)
// Every shape has a <title>, so a browser shows the details on hover.
#include <sys/mman.h>

#include <sstream>

#include <fmt/format.h>

#include "guestkernel/export/views.h"
#include "guestkernel/kernel.h"

namespace gk::exportfs {

namespace {

constexpr int kWidth = 1200, kLaneX = 110, kLaneW = 1060;
constexpr uint64_t kMaxCells = 65536; // per VMA: a huge sparse mapping costs no more
constexpr int kGuestH = 18, kMirrorH = 6, kHostH = 14, kBandH = 78, kGapH = 22;

// In the order a cell of several pages picks the one it shows.
enum class PageKind { None, Private, Cache, Shared, Cow, Count };
const char* const kColor[] = {"#eeeeee", "#4c78a8", "#59a14f", "#b07aa1", "#e15759"};
const char* const kMeaning[] = {"not resident", "private (one user)", "page cache (file or shared memory)",
                                "shared frame (refcount > 1)", "copy-on-write (write-protected, shared)"};

std::string esc(const std::string& in) {
  std::string out;
  for (char c : in) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default:
      if (uint8_t(c) >= 32) out += c;
    }
  }
  return out;
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (1ULL << 30)) return fmt::format("{:.1f} GiB", double(bytes) / double(1ULL << 30));
  if (bytes >= (1ULL << 20)) return fmt::format("{:.1f} MiB", double(bytes) / double(1ULL << 20));
  return fmt::format("{} KiB", bytes >> 10);
}

struct Page {
  PageKind kind = PageKind::None;
  bool mirrored = false;
  uint64_t pfn = 0;
  uint32_t refs = 0;
};

PageKind kind_of(uint64_t e, const mm::Frame& f) {
  if (e & mm::pte::COW) return PageKind::Cow;
  uint32_t users = f.refcount - (f.kind == mm::FrameKind::PageCache ? 1 : 0); // the cache holds one itself
  if (users > 1) return PageKind::Shared;
  return f.kind == mm::FrameKind::PageCache ? PageKind::Cache : PageKind::Private;
}

struct HostVma {
  uint64_t start, end;
  std::string line;
  bool frames; // a mapping of guest physical memory (not an rfp reserve past its end)
};

std::vector<HostVma> parse_host_maps(const std::string& text, uint64_t phys_bytes) {
  std::vector<HostVma> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start, end, off;
    char perms[8];
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx", &start, &end, perms, &off) != 4) continue;
    bool physmem = line.find("gk-physmem") != std::string::npos;
    out.push_back({start, end, line, physmem && off < phys_bytes});
  }
  return out;
}

class Picture {
public:
  void rect(double x, double y, double w, double h, const char* fill, const std::string& title,
            const char* extra = "") {
    body_ += fmt::format("<rect x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\"{}>", x, y, w, h, fill,
                         extra);
    if (!title.empty()) body_ += "<title>" + esc(title) + "</title>";
    body_ += "</rect>\n";
  }
  void text(double x, double y, const std::string& s, const char* extra = "") {
    body_ += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\"{}>{}</text>\n", x, y, extra, esc(s));
  }
  void raw(const std::string& s) { body_ += s; }
  std::string finish(int height) const {
    return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                       "viewBox=\"0 0 {0} {1}\" font-family=\"monospace\" font-size=\"12\">\n"
                       "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
                       kWidth, height) +
           body_ + "</svg>\n";
  }

private:
  std::string body_;
};

// A compressed gap: a dashed line with its label on a white patch.
void gap(Picture& pic, int y, const std::string& label, const char* color) {
  pic.raw(fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbbbbb\" stroke-dasharray=\"4 4\"/>\n",
                      kLaneX, y + 8, kLaneX + kLaneW, y + 8));
  pic.rect(kLaneX + 4, y + 1, 7.3 * double(label.size()) + 8, 14, "#ffffff", "");
  pic.text(kLaneX + 8, y + 12, label, fmt::format(" fill=\"{}\"", color).c_str());
}

// Runs of equal pages as rectangles of one lane; `key` says which pages are alike.
template <typename Key, typename Draw>
void runs(const std::vector<Page>& pages, Key key, Draw draw) {
  size_t i = 0;
  while (i < pages.size()) {
    size_t j = i + 1;
    while (j < pages.size() && key(pages[j]) == key(pages[i])) ++j;
    draw(i, j);
    i = j;
  }
}

} // namespace

int64_t layout_svg(Kernel& k, Process& p, std::string& out) {
  Picture pic;
  int y = 0;
  pic.text(10, y += 22, fmt::format("pid {} ({}): guest address space, --mmu={}", p.pid, p.comm,
                                    mm::backend_name(k.options().backend)),
           " font-size=\"16\" font-weight=\"bold\"");
  mm::AddressSpace* as = address_space_of(p);
  if (!as) {
    pic.text(10, y += 20, "no address space (zombie)");
    out = pic.finish(y + 10);
    return 0;
  }
  pic.text(10, y += 18,
           "Each VMA is drawn to scale within itself (its width is all its pages); gaps are compressed. "
           "Hover for details.");
  // The legend.
  y += 10;
  for (int i = 0; i < int(PageKind::Count); ++i) {
    int x = 10 + (i % 3) * 390, row = y + (i / 3) * 18;
    pic.rect(x, row, 14, 12, kColor[i], "", " stroke=\"#999999\"");
    pic.text(x + 20, row + 10, kMeaning[i]);
  }
  y += 36;
  pic.rect(10, y, 14, 6, "#17becf", "");
  pic.text(30, y + 7, "mirror: the host child maps the page");
  pic.rect(400, y - 3, 14, 12, "#76b7b2", "", " stroke=\"#ffffff\"");
  pic.text(420, y + 7, "host VMA mapping frames");
  pic.rect(790, y - 3, 14, 12, "#d3d3d3", "", " stroke=\"#ffffff\"");
  pic.text(810, y + 7, "other host VMA (rfp reserve, ...)");
  y += 20;

  const mm::BuddyAllocator& b = k.physmem().buddy();
  std::vector<HostVma> host;
  if (Task* t = p.leader(); t && t->mm && t->mm->child && t->mm->child->alive())
    host = parse_host_maps(t->mm->child->maps_text(), k.physmem().bytes());

  uint64_t prev_end = 0;
  for (const auto& [start, v] : as->vmas()) {
    if (v.start > prev_end) {
      int strays = 0; // host mappings with no guest VMA: must never happen
      for (const HostVma& h : host)
        if (h.start < v.start && h.end > prev_end && h.start < mm::kUserTop) ++strays;
      std::string label = fmt::format("gap {:#x}-{:#x}: {} unmapped{}", prev_end, v.start, size_text(v.start - prev_end),
                                      strays ? fmt::format(" ({} host mappings without a guest VMA!)", strays) : "");
      gap(pic, y, label, strays ? "#d62728" : "#777777");
      y += kGapH;
    }
    prev_end = v.end;

    // The pages of this VMA from its PTEs, in cells of `per` pages: one page
    // each, unless the VMA is huge; a cell shows its most notable page.
    uint64_t npages = v.pages(), per = (npages + kMaxCells - 1) / kMaxCells;
    std::vector<Page> cells((npages + per - 1) / per);
    uint64_t resident = 0, mirrored = 0;
    as->page_table().for_each(v.start, v.end, [&](uint64_t va, uint64_t& e) {
      if (!(e & mm::pte::P) || mm::pte::pfn(e) >= b.total_frames()) return;
      Page& c = cells[(va - v.start) / mm::kPageSize / per];
      const mm::Frame& f = b.frame(mm::pte::pfn(e));
      PageKind kind = kind_of(e, f);
      if (c.kind == PageKind::None || kind > c.kind) c = {kind, c.mirrored, mm::pte::pfn(e), f.refcount};
      c.mirrored |= (e & mm::pte::HOSTMAPPED) != 0;
      ++resident;
      if (e & mm::pte::HOSTMAPPED) ++mirrored;
    });
    char perms[5] = {(v.prot & PROT_READ) ? 'r' : '-', (v.prot & PROT_WRITE) ? 'w' : '-',
                     (v.prot & PROT_EXEC) ? 'x' : '-', (v.flags & mm::Vma::kShared) ? 's' : 'p', 0};
    pic.raw(fmt::format("<g class=\"vma\" data-start=\"{:#x}\" data-end=\"{:#x}\" data-perms=\"{}\" data-pages=\"{}\" "
                        "data-resident=\"{}\" data-mirrored=\"{}\">\n",
                        v.start, v.end, perms, npages, resident, mirrored));
    pic.text(10, y + 14,
             fmt::format("{:#x}-{:#x} {} {}  {} page{} ({}), {} resident, {} mirrored{}", v.start, v.end, perms,
                         v.name.empty() ? "[anon]" : v.name, npages, npages > 1 ? "s" : "", size_text(v.length()),
                         resident, mirrored, per > 1 ? fmt::format(" (one cell = {} pages)", per) : ""),
             " font-weight=\"bold\"");
    double px = double(kLaneW) / double(cells.size());
    int gy = y + 22, my = gy + kGuestH + 2, hy = my + kMirrorH + 4;
    pic.text(10, gy + 13, "guest PTEs");
    pic.text(10, my + 6, "mirror", " font-size=\"10\"");
    pic.text(10, hy + 11, "host VMAs");
    auto x_of = [&](size_t i) { return kLaneX + double(i) * px; };
    auto va_of = [&](size_t i) { return std::min(v.end, v.start + i * per * mm::kPageSize); };
    auto pages_of = [&](size_t i, size_t j) { return (va_of(j) - va_of(i)) / mm::kPageSize; };
    // Sub-pixel runs still get a pixel: the lane stays to scale, small things stay visible.
    auto w_of = [&](size_t i, size_t j) { return std::max(1.0, double(j - i) * px); };
    runs(cells, [](const Page& pg) { return pg.kind; }, [&](size_t i, size_t j) {
      const Page& first = cells[i];
      std::string title = fmt::format("{:#x}-{:#x}: {} page{}, {}", va_of(i), va_of(j), pages_of(i, j),
                                      pages_of(i, j) > 1 ? "s" : "", kMeaning[int(first.kind)]);
      if (first.kind != PageKind::None) title += fmt::format("; first frame {:#x} (refcount {})", first.pfn, first.refs);
      pic.rect(x_of(i), gy, w_of(i, j), kGuestH, kColor[int(first.kind)], title);
    });
    // Pages wide enough to be told apart get their frame number: compare
    // two processes' pictures to see which frames they share.
    if (per == 1 && px >= 34)
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i) pic.rect(x_of(i) - 0.5, gy, 1, kGuestH, "#ffffff", "");
        if (cells[i].kind != PageKind::None)
          pic.text(x_of(i) + px / 2, gy + 13, fmt::format("{:#x}", cells[i].pfn),
                   " font-size=\"10\" fill=\"#ffffff\" text-anchor=\"middle\"");
      }
    runs(cells, [](const Page& pg) { return pg.mirrored; }, [&](size_t i, size_t j) {
      if (cells[i].mirrored)
        pic.rect(x_of(i), my, w_of(i, j), kMirrorH, "#17becf",
                 fmt::format("{:#x}-{:#x}: mirrored in the host child", va_of(i), va_of(j)));
    });
    for (const HostVma& h : host) {
      if (h.end <= v.start || h.start >= v.end) continue;
      size_t i = (std::max(h.start, v.start) - v.start) / mm::kPageSize / per;
      size_t j = ((std::min(h.end, v.end) - v.start) / mm::kPageSize + per - 1) / per;
      pic.rect(x_of(i), hy, w_of(i, j), kHostH, h.frames ? "#76b7b2" : "#d3d3d3", "host: " + h.line,
               " stroke=\"#ffffff\" stroke-width=\"0.5\"");
    }
    pic.raw("</g>\n");
    y += kBandH;
  }
  if (prev_end < mm::kUserTop)
    gap(pic, y, fmt::format("gap {:#x}-{:#x}: {} unmapped (the top of guest user space)", prev_end, mm::kUserTop,
                            size_text(mm::kUserTop - prev_end)), "#777777");
  y += kGapH;
  size_t above = 0;
  for (const HostVma& h : host) above += h.start >= mm::kUserTop;
  pic.text(10, y += 6, fmt::format("{} host VMAs above guest user space (the stub, its pages, vdso, stack): "
                                   "see tasks/{}/host_maps", above, p.pid), " fill=\"#777777\"");
  out = pic.finish(y + 14);
  return 0;
}

} // namespace gk::exportfs
