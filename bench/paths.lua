-- wrk script: requests the paths listed in the file given after `--`, in turn. A line may add a
-- tab and an entity tag, sent as `If-None-Match` (the revalidation mix).
local paths = {}
local tags = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      local path, tag = line:match("^([^\t]+)\t(.+)$")
      paths[#paths + 1] = path or line
      tags[#tags + 1] = tag
    end
  end
  -- Threads start at different places so they do not march in step.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
  counter = math.random(#paths)
end

function request()
  counter = counter + 1
  local i = (counter % #paths) + 1
  if tags[i] then
    return wrk.format("GET", paths[i], { ["If-None-Match"] = tags[i] })
  end
  return wrk.format("GET", paths[i])
end
